// Boost.JSON's implementation, compiled into Cascadence with the project's
// own flags instead of linked from Debian's libboost_json.so (see
// cmake/cascadence.cmake): exactly one translation unit may include this.
#include <boost/json/src.hpp>
