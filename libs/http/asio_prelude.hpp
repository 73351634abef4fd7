#pragma once
// The one way libs/http's .cpp files include Boost.Asio and Beast. Private to libs/http:
// nothing outside includes Asio, which keeps the rest of the build fast.
//
// <utility> first: Boost 1.74's asio/awaitable.hpp forgot it under GCC 12; harmless on
// 1.81, kept so either Boost builds. Asio and Beast are compiled once, in
// asio_impl.cpp (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION).
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace paypipe::http::detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bh = boost::beast::http;
using tcp = boost::asio::ip::tcp;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
}  // namespace paypipe::http::detail
