/* The version the library was built as: programs compare it with the MM_VERSION_* they were compiled
 * with when they need to know which shared library they got. */
#include "musicmap/version.h"

const char *mm_version(void)
{
    return MM_VERSION_STRING;
}

int mm_version_number(void)
{
    return MM_VERSION_NUMBER;
}
