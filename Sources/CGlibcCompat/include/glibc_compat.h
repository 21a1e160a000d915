#pragma once
int pipeline_glibc_compat_anchor(void);
