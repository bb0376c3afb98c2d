// Asio's and Asio SSL's implementation, compiled once into Cascadence
// (BOOST_ASIO_SEPARATE_COMPILATION, see cmake/cascadence.cmake): exactly one
// translation unit may include these.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
