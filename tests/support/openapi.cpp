#include "support/openapi.hpp"

#include <cctype>
#include <fstream>
#include <stdexcept>

namespace paypipe::testing {

namespace {

std::size_t indent_of(const std::string& line) { return line.find_first_not_of(' '); }

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

std::set<std::string> openapi_routes(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error("cannot read " + path);
  static const std::set<std::string> methods{"get", "post", "put", "patch", "delete"};
  std::set<std::string> routes;
  std::string line, current_path;
  bool in_paths = false;
  while (std::getline(file, line)) {
    if (line.empty() || line.find_first_not_of(' ') == std::string::npos) continue;
    const auto indent = indent_of(line);
    if (line[indent] == '#') continue;
    if (indent == 0) {
      in_paths = line.rfind("paths:", 0) == 0;
      continue;
    }
    if (!in_paths) continue;
    const auto colon = line.find(':', indent);
    if (colon == std::string::npos) continue;
    std::string key = line.substr(indent, colon - indent);
    if (!key.empty() && (key.front() == '"' || key.front() == '\'')) key = key.substr(1, key.size() - 2);
    if (indent == 2) current_path = key;
    if (indent == 4 && methods.count(key)) routes.insert(upper(key) + " " + current_path);
  }
  return routes;
}

std::set<std::string> router_routes(const http::Router& router) {
  std::set<std::string> routes;
  for (const auto& route : router.routes()) {
    if (route.pattern == "/healthz" || route.pattern == "/readyz" || route.pattern == "/metrics") continue;
    routes.insert(route.method + " " + route.pattern);
  }
  return routes;
}

}  // namespace paypipe::testing
