// Why this exists: Swift reaches the system zlib (Debian's zlib1g-dev) only
// through a module. FlockIO uses its raw-DEFLATE inflater and CRC-32 for .npz.
#include <zlib.h>
