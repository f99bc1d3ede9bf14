/* Replays fuzz corpora through the fuzz entry points, as an ordinary test:
 * replay PATH... feeds every regular file PATH names or holds (below a
 * folder, recursively). A crash or a trap fails the test; its TAP line
 * names the input. A PATH that does not exist is a failure, so a moved
 * corpus cannot silently shrink the test. */
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static guint count;
static guint failed;

static void
replay (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          replay (child);
        }
      return;
    }
  if (!g_file_get_contents (path, &data, &len, NULL))
    {
      printf ("not ok %u - %s: cannot be read\n", ++count, path);
      failed++;
      return;
    }
  LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
  printf ("ok %u - %s\n", ++count, path);
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    replay (argv[i]);
  printf ("1..%u\n", count);
  return count > 0 && failed == 0 ? 0 : 1;
}
