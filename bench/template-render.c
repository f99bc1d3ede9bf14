/* Benchmark: validate and render a generated lab of N machines (default 500),
 * against a baseline in the same process: libxml2 parsing and serialising the
 * same template file (the floor any XML-driven tool pays). Prints time and
 * peak memory as ratios; peak memory is measured in forked children so each
 * phase starts from the same heap. Never asserts on time. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <libxml/parser.h>
#include <nestlab/render.h>
#include <nestlab/template.h>

static char *
generate (guint machines)
{
  GString *s = g_string_new ("<lab name=\"bench\">\n");
  g_autofree char *path = NULL;
  int fd;

  g_string_append (s,
    "  <param name=\"mem\" default=\"8GiB\"/>\n"
    "  <image name=\"ws\" os=\"win2k22\" volume=\"ws2022.qcow2\"/>\n"
    "  <image name=\"deb\" os=\"debian12\" path=\"/srv/deb.qcow2\"/>\n"
    "  <network name=\"mgmt\" subnet=\"10.100.0.0/16\"><dhcp start=\"10.100.200.1\" end=\"10.100.255.200\"/></network>\n"
    "  <network name=\"storage\" subnet=\"10.101.0.0/16\"/>\n"
    "  <profile name=\"win\" os=\"win2k22\" vcpus=\"2\" memory=\"4GiB\" firmware=\"uefi\" secure-boot=\"yes\" tpm=\"yes\">\n"
    "    <disk image=\"ws\" size=\"80GiB\"/><nic network=\"mgmt\"/>\n"
    "  </profile>\n"
    "  <profile name=\"lnx\" vcpus=\"1\" memory=\"1GiB\"><disk image=\"deb\"/><nic network=\"mgmt\"/></profile>\n"
    "  <machine name=\"dc01\" profile=\"win\" role=\"domain-controller\"><nic network=\"mgmt\" ip=\"10.100.0.10\"/></machine>\n");
  for (guint i = 1; i < machines; i++)
    {
      const char *kind = i % 5 == 0 ? "hyperv-host" : i % 2 ? "generic" : "sql";
      if (i % 3 == 0)
        g_string_append_printf (s, "  <machine name=\"l%04u\" profile=\"lnx\" after=\"dc01\"/>\n", i);
      else
        g_string_append_printf (s,
          "  <machine name=\"w%04u\" profile=\"win\" role=\"%s\" memory=\"${mem}\" after=\"dc01\">\n"
          "    <data-disk size=\"20GiB\"/>\n"
          "    <nic network=\"mgmt\" ip=\"10.100.%u.%u\"/><nic network=\"storage\" ip=\"10.101.%u.%u\" model=\"virtio\"/>\n"
          "  </machine>\n", i, kind, 1 + i / 200, 1 + i % 200, 1 + i / 200, 1 + i % 200);
    }
  g_string_append (s, "</lab>\n");
  fd = g_file_open_tmp ("nl-bench-XXXXXX.xml", &path, NULL);
  if (fd < 0)
    exit (1);
  close (fd);
  g_file_set_contents (path, s->str, s->len, NULL);
  g_string_free (s, TRUE);
  return g_steal_pointer (&path);
}

static gsize
baseline (const char *path)
{
  xmlDocPtr doc = xmlReadFile (path, NULL, XML_PARSE_NONET);
  xmlChar *out = NULL;
  int len = 0;
  xmlDocDumpFormatMemory (doc, &out, &len, 1);
  xmlFree (out);
  xmlFreeDoc (doc);
  return len;
}

static gsize
nestlab (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NlLab) lab = nl_template_load (path, NULL, &error);
  NlRenderOptions options = { .vendor = NL_CPU_VENDOR_INTEL };
  g_autoptr (GPtrArray) volumes = NULL;
  gsize bytes = 0;

  if (lab == NULL)
    {
      fprintf (stderr, "bench template invalid: %s\n", error->message);
      exit (1);
    }
  for (guint i = 0; i < lab->networks->len; i++)
    {
      xmlDocPtr doc = nl_render_network (lab, g_ptr_array_index (lab->networks, i), &options, NULL);
      g_autofree char *text = nl_render_to_string (doc);
      bytes += strlen (text);
      xmlFreeDoc (doc);
    }
  volumes = nl_render_volume_specs (lab, &options);
  for (guint i = 0; i < volumes->len; i++)
    {
      xmlDocPtr doc = nl_render_volume (g_ptr_array_index (volumes, i), NULL);
      g_autofree char *text = nl_render_to_string (doc);
      bytes += strlen (text);
      xmlFreeDoc (doc);
    }
  for (guint i = 0; i < lab->machines->len; i++)
    {
      xmlDocPtr doc = nl_render_domain (lab, g_ptr_array_index (lab->machines, i), &options, NULL);
      g_autofree char *text = nl_render_to_string (doc);
      bytes += strlen (text);
      xmlFreeDoc (doc);
    }
  return bytes;
}

/* Seconds per run, best of ROUNDS. */
static double
time_it (gsize (*fn) (const char *), const char *path, int rounds)
{
  double best = 1e9;
  for (int r = 0; r < rounds; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      fn (path);
      best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
    }
  return best;
}

/* Peak resident memory (KiB) of a child that runs FN once. */
static long
peak_kib (gsize (*fn) (const char *), const char *path)
{
  int status;
  struct rusage ru;
  pid_t pid = fork ();
  if (pid == 0)
    {
      fn (path);
      _exit (0);
    }
  wait4 (pid, &status, 0, &ru);
  return ru.ru_maxrss;
}

static long
idle_kib (const char *path)
{
  int status;
  struct rusage ru;
  pid_t pid = fork ();
  (void) path;
  if (pid == 0)
    _exit (0);
  wait4 (pid, &status, 0, &ru);
  return ru.ru_maxrss;
}

int
main (int argc, char **argv)
{
  guint n = argc > 1 ? atoi (argv[1]) : 500;
  g_autofree char *big = generate (n);
  g_autofree char *small = generate (n / 10);
  double t_base, t_nl, t_small;
  long m_idle, m_base, m_nl;

  nestlab (small); /* warm-up: loads osinfo-db once */
  t_base = time_it (baseline, big, 5);
  t_nl = time_it (nestlab, big, 5);
  t_small = time_it (nestlab, small, 5);
  m_idle = idle_kib (big);
  m_base = peak_kib (baseline, big);
  m_nl = peak_kib (nestlab, big);

  printf ("validate+render of %u machines: %.1f ms (%.0f us per machine)\n", n, t_nl * 1e3, t_nl * 1e6 / n);
  printf ("baseline (libxml2 parse + serialise of the same file): %.2f ms\n", t_base * 1e3);
  printf ("ratio nestlab/baseline time: %.1fx\n", t_nl / t_base);
  printf ("scaling %u -> %u machines: time ratio %.1fx (10x is linear)\n", n / 10, n, t_nl / t_small);
  printf ("peak memory: nestlab %ld KiB, baseline %ld KiB, process floor %ld KiB\n", m_nl, m_base, m_idle);
  printf ("ratio nestlab/baseline peak memory above the floor: %.1fx\n",
          (double) (m_nl - m_idle) / (double) MAX (1, m_base - m_idle));
  g_unlink (big);
  g_unlink (small);
  return 0;
}
