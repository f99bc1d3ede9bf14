/* What /proc/cpuinfo says about the first processor: shared by the host
 * checks and the decision of KVM or emulation (private to src/host). */
#pragma once

#include <glib.h>
#include <nestlab/nested.h>

typedef struct {
  char *vendor_id;
  char *model_name;
  NlCpuVendor vendor;
  gboolean has_flags;    /* a flags line was read */
  gboolean vmx;
  gboolean svm;
  gboolean hypervisor;   /* this host is itself a virtual machine */
} CpuInfo;

/* Fills INFO (zeroed by the caller) from the text of /proc/cpuinfo. */
void nl_host_cpuinfo_parse (const char *text, CpuInfo *info);
void nl_host_cpuinfo_clear (CpuInfo *info);
