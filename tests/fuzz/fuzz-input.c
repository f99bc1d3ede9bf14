/* The temporary input file of a fuzz harness; see fuzz-input.h. */
#include <stdlib.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "fuzz-input.h"

static char *path;

static void
remove_input (void)
{
  g_unlink (path);
  g_clear_pointer (&path, g_free);
}

const char *
nl_fuzz_input_file (const uint8_t *data, size_t size)
{
  if (path == NULL)
    {
      int fd = g_file_open_tmp ("nl-fuzz-XXXXXX.xml", &path, NULL);
      if (fd < 0)
        return NULL;
      close (fd);
      /* Replay and libFuzzer both end with exit(); a crash keeps the file,
       * and libFuzzer saves the input that caused it anyway. */
      atexit (remove_input);
    }
  if (!g_file_set_contents (path, (const char *) data, size, NULL))
    return NULL;
  return path;
}
