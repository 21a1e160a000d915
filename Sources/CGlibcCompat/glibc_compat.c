#include "glibc_compat.h"

/* glibc 2.35 added new versions of hypot and hypotf (hypot@GLIBC_2.35, hypotf@GLIBC_2.35). A
   static Swift runtime linked on a newer glibc references those versions, which Lambda's
   provided.al2023 (glibc 2.34) lacks, so the binary would not load there. Defining the two
   functions here, forwarding to their older versions (present in every glibc since 2.2.5),
   keeps the binary's highest required version at 2.34. The results are the same: only the
   errno handling of the wrappers changed between the versions. */
extern double pipeline_hypot_compat(double x, double y);
extern float pipeline_hypotf_compat(float x, float y);
__asm__(".symver pipeline_hypot_compat,hypot@GLIBC_2.2.5");
__asm__(".symver pipeline_hypotf_compat,hypotf@GLIBC_2.2.5");

double hypot(double x, double y) { return pipeline_hypot_compat(x, y); }
float hypotf(float x, float y) { return pipeline_hypotf_compat(x, y); }

int pipeline_glibc_compat_anchor(void) { return 0; }
