// Beast's implementation, compiled once into Cascadence
// (BOOST_BEAST_SEPARATE_COMPILATION, see cmake/cascadence.cmake): exactly one
// translation unit may include this. Its Asio parts come from boost_asio.cpp,
// a TU of its own so that the two build in parallel.
#include <boost/beast/src.hpp>
