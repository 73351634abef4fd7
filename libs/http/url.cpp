// Boost.URL's compiled part, built once here (it has no Debian shared library in use):
// every other file of libs/http includes only its headers.
#include <boost/url/src.hpp>
