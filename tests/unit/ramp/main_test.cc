#define BOOST_TEST_MODULE ramp
#include <boost/test/unit_test.hpp>
