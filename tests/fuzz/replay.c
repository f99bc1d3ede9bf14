/* Replays fuzz corpora through the fuzz entry points, as an ordinary test:
 * replay DIR... loads every regular file below each DIR. A crash or a trap
 * fails the test; its TAP line names the input. */
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static guint count;

static void
replay_dir (const char *dir_path)
{
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir_path, name, NULL);
      g_autofree char *data = NULL;
      gsize len = 0;

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          replay_dir (path);
          continue;
        }
      if (!g_file_get_contents (path, &data, &len, NULL))
        continue;
      LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
      printf ("ok %u - %s\n", ++count, path);
      fflush (stdout);
    }
}

int
main (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    replay_dir (argv[i]);
  printf ("1..%u\n", count);
  return count > 0 ? 0 : 1;
}
