/* /proc/cpuinfo's first processor: vendor, model and the flags nestlab
 * cares about. */
#include <string.h>

#include <nestlab/host.h>
#include "cpuinfo.h"

void
nl_host_cpuinfo_clear (CpuInfo *info)
{
  g_clear_pointer (&info->vendor_id, g_free);
  g_clear_pointer (&info->model_name, g_free);
}

void
nl_host_cpuinfo_parse (const char *text, CpuInfo *info)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *colon = strchr (lines[i], ':');
      char *key;
      char *value;

      if (lines[i][0] == '\0' && info->vendor_id != NULL)
        break;   /* the first processor is enough */
      if (colon == NULL)
        continue;
      *colon = '\0';
      key = g_strstrip (lines[i]);
      value = g_strstrip (colon + 1);
      if (g_str_equal (key, "vendor_id") && info->vendor_id == NULL)
        info->vendor_id = g_strdup (value);
      else if (g_str_equal (key, "model name") && info->model_name == NULL)
        info->model_name = g_strdup (value);
      else if (g_str_equal (key, "flags"))
        {
          g_auto (GStrv) flags = g_strsplit (value, " ", -1);
          info->has_flags = TRUE;
          info->vmx = g_strv_contains ((const char *const *) flags, "vmx");
          info->svm = g_strv_contains ((const char *const *) flags, "svm");
          info->hypervisor = g_strv_contains ((const char *const *) flags, "hypervisor");
        }
    }
  info->vendor = nl_cpu_vendor_from_id (info->vendor_id);
}

NlCpuVendor
nl_host_cpu_vendor (const char *cpuinfo_path)
{
  g_autofree char *text = NULL;
  CpuInfo info = { 0 };
  NlCpuVendor vendor;

  if (!g_file_get_contents (cpuinfo_path ? cpuinfo_path : "/proc/cpuinfo", &text, NULL, NULL))
    return NL_CPU_VENDOR_UNKNOWN;
  nl_host_cpuinfo_parse (text, &info);
  vendor = info.vendor;
  nl_host_cpuinfo_clear (&info);
  return vendor;
}
