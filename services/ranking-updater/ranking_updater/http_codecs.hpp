#pragma once
// ranking-updater's HTTP answers, written as JSON. Pure: tests/unit/ranking_rules_test.cpp.

#include <optional>
#include <string>
#include <vector>

#include "ranking_updater/ranking_rules.hpp"

namespace paypipe::ranking_updater {

// {"window":"day","date":"2027-01-15","timeZone":"Asia/Seoul","items":[{"rank":1,...}]}
// (`date` only for the day window).
std::string products_json(const ProductsQuery& query, const std::optional<std::string>& day,
                          const std::string& time_zone, const std::vector<RankedSales>& ranked);
// {"eventDate":"2026-12-24","items":[{"rank":1,"productId":...,"unitsSold":...}]}
// (`eventDate` only when one was asked for).
std::string sales_json(const std::optional<std::string>& event_date, const std::vector<RankedSales>& ranked);
// {"eventDate":"2026-12-24","items":[{"rank":1,"productId":...,"sellOutMs":...,"eventDate":...}]}
// (the top-level `eventDate` only when one was asked for).
std::string sold_out_json(const std::optional<std::string>& event_date, const std::vector<RankedSoldOut>& ranked);

}  // namespace paypipe::ranking_updater
