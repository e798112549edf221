/* export — MM_API marks the functions libmusicmap exports. The library is compiled with hidden symbol
 * visibility, so its internals (everything not marked) stay out of libmusicmap.so's dynamic symbol
 * table: programs can neither link against them nor collide with them. Programs that include the
 * headers see MM_API as nothing. */
#ifndef MUSICMAP_EXPORT_H
#define MUSICMAP_EXPORT_H

#if defined(MM_BUILDING_LIBRARY) && (defined(__GNUC__) || defined(__clang__))
#define MM_API __attribute__((visibility("default")))
#else
#define MM_API
#endif

#endif
