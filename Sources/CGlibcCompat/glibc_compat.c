#include "glibc_compat.h"
/* glibc 2.35 added a new version of hypot (hypot@GLIBC_2.35); the static Swift runtime built
   against it references that version, which Lambda's provided.al2023 (glibc 2.34) lacks.
   Defining hypot here, forwarding to the older hypot@GLIBC_2.2.5, keeps the binary at 2.34. */
extern double pipeline_hypot_compat(double x, double y);
__asm__(".symver pipeline_hypot_compat,hypot@GLIBC_2.2.5");
double hypot(double x, double y) { return pipeline_hypot_compat(x, y); }
int pipeline_glibc_compat_anchor(void) { return 0; }
/* The same for hypotf (hypotf@GLIBC_2.35), which the Glibc overlay in the static Swift runtime
   also references: forward to hypotf@GLIBC_2.2.5. */
extern float pipeline_hypotf_compat(float x, float y);
__asm__(".symver pipeline_hypotf_compat,hypotf@GLIBC_2.2.5");
float hypotf(float x, float y) { return pipeline_hypotf_compat(x, y); }
