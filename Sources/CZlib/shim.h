#ifndef PIPELINE_CZLIB_SHIM_H
#define PIPELINE_CZLIB_SHIM_H
#include <zlib.h>

// zlib's init calls are macros (they pass ZLIB_VERSION and sizeof(z_stream)), which Swift cannot
// import; these inline wrappers make them callable.

/// Inflate gzip members only (windowBits 15 + 16: a gzip header and trailer are required).
static inline int czlib_inflate_init_gzip(z_streamp stream) {
    return inflateInit2(stream, 15 + 16);
}

/// Deflate with a gzip header and trailer (windowBits 15 + 16), memLevel 8, the default strategy.
static inline int czlib_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
#endif
