// Why this exists: Swift reaches OpenBLAS's C interface only through a module.
// Debian's libopenblas-dev installs <cblas.h> for the OpenBLAS variant chosen by
// update-alternatives; openblas_set_num_threads lets ranks pin one BLAS thread.
#include <cblas.h>
