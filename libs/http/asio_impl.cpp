// The compiled bodies of Boost.Asio, Asio SSL and Boost.Beast, built once for the whole
// project (see asio_prelude.hpp).
#include <utility>

#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
