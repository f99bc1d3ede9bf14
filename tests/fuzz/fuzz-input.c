/* The temporary input file of a fuzz harness; see fuzz-input.h. */
#include <unistd.h>

#include <glib.h>

#include "fuzz-input.h"

const char *
nl_fuzz_input_file (const uint8_t *data, size_t size)
{
  static char *path;

  if (path == NULL)
    {
      int fd = g_file_open_tmp ("nl-fuzz-XXXXXX.xml", &path, NULL);
      if (fd < 0)
        return NULL;
      close (fd);
    }
  if (!g_file_set_contents (path, (const char *) data, size, NULL))
    return NULL;
  return path;
}
