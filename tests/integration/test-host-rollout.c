/* Host windows on libvirt's test driver: a plan with a <host> target whose
 * "host" is test:///default and whose own commands (update, reboot, boot
 * id) are shell commands on files of the case. The window saves, shuts
 * down or leaves off each guest as planned, updates, reboots (a new boot
 * id), verifies and brings every guest back as it was; a host that does
 * not come back stops the run resumable, and the resume finishes it; a
 * reboot that never happens fails the host but still brings its guests
 * back. The test driver has no guest agent and cannot migrate: the system
 * test (tests/system/host-rollout.sh) covers both on a real second host.
 * Each case forks with its own driver state, held by one open connection. */
#include <string.h>

#include <glib/gstdio.h>

#include <nestlab/error.h>
#include <nestlab/rollout.h>
#include "virt-private.h"
#include "nl-test.h"

#define TEST_URI "test:///default"

static const char guest_xml[] =
  "<domain type='test'><name>%s</name><memory>65536</memory><os><type>hvm</type></os>%s</domain>";

static void
define (virConnectPtr conn, const char *name, gboolean start, gboolean nested)
{
  g_autofree char *xml = g_strdup_printf (guest_xml, name,
                                          nested ? "<cpu mode='custom'><model>qemu64</model>"
                                                   "<feature policy='require' name='vmx'/></cpu>"
                                                 : "");
  g_autoptr (virDomain) dom = virDomainDefineXML (conn, xml);
  ck_assert_msg (dom != NULL, "defining %s", name);
  if (start)
    ck_assert_int_eq (virDomainCreate (dom), 0);
}

typedef struct {
  NlTestDir *dir;
  char *plan;
  char *state;
  virConnectPtr conn;   /* holds the test driver's state for the case */
} Case;

/* A plan for host "hv" = test:///default, its commands on files in the
 * case's folder: boot-id prints DIR/boot, reboot writes a new one (unless
 * REBOOT says otherwise), update appends to DIR/updates. */
static void
case_init (Case *c, const char *reboot, guint boot_timeout)
{
  g_autofree char *xml = NULL;
  g_autofree char *bootfile = NULL;

  c->dir = nl_test_dir_new ("nl-hosts-XXXXXX");
  c->state = g_build_filename (c->dir, "state", NULL);
  c->plan = g_build_filename (c->dir, "plan.xml", NULL);
  bootfile = g_build_filename (c->dir, "boot", NULL);
  ck_assert (g_file_set_contents (bootfile, "boot-1\n", -1, NULL));
  xml = g_strdup_printf (
    "<rollout name='hosts' agent-timeout='1s'>\n"
    "  <patch id='P1' severity='important' reboot='yes'>\n"
    "    <install os='linux'><arg>/bin/true</arg></install>\n"
    "  </patch>\n"
    "  <targets>\n"
    "    <host name='hv' uri='" TEST_URI "' boot-timeout='%us'>\n"
    "      <guest name='g-save' stop='save'/>\n"
    "      <guest name='g-nested' stop='save'/>\n"
    "      <update><arg>/bin/sh</arg><arg>-c</arg><arg>echo updated >> %s/updates</arg></update>\n"
    "      <reboot><arg>/bin/sh</arg><arg>-c</arg><arg>%s</arg></reboot>\n"
    "      <boot-id><arg>/bin/cat</arg><arg>%s</arg></boot-id>\n"
    "    </host>\n"
    "  </targets>\n"
    "  <host-policy stop='shutdown' shutdown-timeout='2s'/>\n"
    "  <replica enabled='no'/>\n"
    "</rollout>\n",
    boot_timeout, c->dir, reboot, bootfile);
  ck_assert (g_file_set_contents (c->plan, xml, -1, NULL));
  g_setenv ("NESTLAB_STATE_DIR", c->state, TRUE);
  c->conn = virConnectOpen (TEST_URI);
  ck_assert (c->conn != NULL);
  /* test:///default brings "test", running; the case adds the others. */
  define (c->conn, "g-save", TRUE, FALSE);
  define (c->conn, "g-shut", TRUE, FALSE);
  define (c->conn, "g-off", FALSE, FALSE);
  define (c->conn, "g-nested", TRUE, TRUE);
}

static void
case_clear (Case *c)
{
  virConnectClose (c->conn);
  g_free (c->plan);
  g_free (c->state);
  nl_test_dir_free (c->dir);
}

static NlJournal *
run_plan (Case *c, const char *id, NlRunState expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NlRolloutPlan) plan = nl_rollout_plan_load (c->plan, &error);
  g_autoptr (NlRolloutDriver) driver = NULL;
  NlRolloutOptions o = { .id = id, .now = TRUE, .poll_ms = 50 };
  NlJournal *j;

  ck_assert_msg (plan != NULL, "%s", error ? error->message : "");
  driver = nl_rollout_virt_driver_new (TEST_URI, &error);
  j = nl_rollout_run (plan, driver, &o, &error);
  ck_assert_msg (j != NULL, "%s", error ? error->message : "");
  ck_assert_msg (j->state == expected, "run %s: %s (%s)", id, nl_run_state_to_string (j->state),
                 j->reason ? j->reason : "");
  return j;
}

static NlHostGuestRecord *
guest (NlJournal *j, const char *name)
{
  NlHostRecord *h = nl_journal_find_host (j, "hv");
  ck_assert (h != NULL);
  for (guint i = 0; i < h->guests->len; i++)
    {
      NlHostGuestRecord *g = h->guests->pdata[i];
      if (g_str_equal (g->name, name))
        return g;
    }
  ck_abort_msg ("guest %s is not in the window", name);
  return NULL;
}

static gboolean
active (virConnectPtr conn, const char *name)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, name);
  ck_assert (dom != NULL);
  return virDomainIsActive (dom) == 1;
}

static gboolean
managed_save (virConnectPtr conn, const char *name)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, name);
  ck_assert (dom != NULL);
  return virDomainHasManagedSaveImage (dom, 0) == 1;
}

static char *
read_file (Case *c, const char *name)
{
  g_autofree char *path = g_build_filename (c->dir, name, NULL);
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

START_TEST (a_window_stops_updates_reboots_and_brings_back_every_guest)
{
  Case c;
  g_autoptr (NlJournal) j = NULL;
  g_autoptr (NlJournal) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *updates = NULL;
  g_autofree char *boot = NULL;
  NlHostRecord *h;

  case_init (&c, "echo boot-2 > BOOTFILE", 30);
  {
    /* The reboot command writes the new boot id. */
    g_autofree char *bootfile = g_build_filename (c.dir, "boot", NULL);
    g_autofree char *xml = NULL;
    g_autoptr (GString) s = NULL;
    ck_assert (g_file_get_contents (c.plan, &xml, NULL, NULL));
    s = g_string_new (xml);
    g_string_replace (s, "BOOTFILE", bootfile, 0);
    ck_assert (g_file_set_contents (c.plan, s->str, -1, NULL));
  }
  j = run_plan (&c, "w1", NL_RUN_DONE);
  h = nl_journal_find_host (j, "hv");
  ck_assert_msg (h->state == NL_HOST_DONE, "%s: %s", nl_host_state_to_string (h->state),
                 h->message ? h->message : "");
  ck_assert (h->uuid != NULL);
  ck_assert_str_eq (h->boot_id, "boot-1");
  ck_assert (h->down_at > 0 && h->up_at >= h->down_at);

  ck_assert_int_eq (guest (j, "g-save")->action, NL_GUEST_SAVE);
  ck_assert_int_eq (guest (j, "g-shut")->action, NL_GUEST_SHUTDOWN);
  ck_assert_int_eq (guest (j, "test")->action, NL_GUEST_SHUTDOWN);
  ck_assert_int_eq (guest (j, "g-off")->action, NL_GUEST_LEAVE_OFF);
  ck_assert_int_eq (guest (j, "g-off")->state, NL_HGUEST_LEFT);
  /* A nested hypervisor is never saved. */
  ck_assert_int_eq (guest (j, "g-nested")->asked, NL_STOP_SAVE);
  ck_assert_int_eq (guest (j, "g-nested")->action, NL_GUEST_SHUTDOWN);
  ck_assert (strstr (guest (j, "g-nested")->reason, "nested hypervisor") != NULL);

  for (const char *const *n = (const char *const[]) { "test", "g-save", "g-shut", "g-nested", NULL }; *n; n++)
    {
      NlHostGuestRecord *g = guest (j, *n);
      ck_assert_msg (g->state == NL_HGUEST_DONE, "%s: %s (%s)", *n, nl_host_guest_state_to_string (g->state),
                     g->message ? g->message : "");
      ck_assert_msg (active (c.conn, *n), "%s is not running after the window", *n);
      ck_assert_msg (!managed_save (c.conn, *n), "%s is left saved", *n);
      ck_assert (g->down_at > 0 && g->up_at >= g->down_at);
      /* A shut-down guest's cold boot is its one reboot; a save none. */
      ck_assert_int_eq (g->reboots, g->action == NL_GUEST_SAVE ? 0 : 1);
    }
  ck_assert (!active (c.conn, "g-off"));
  updates = read_file (&c, "updates");
  ck_assert_str_eq (updates, "updated\n");
  boot = read_file (&c, "boot");
  ck_assert_str_eq (boot, "boot-2\n");

  /* The journal reads back as it was written. */
  {
    g_autofree char *root = g_build_filename (c.state, "rollouts", NULL);
    again = nl_journal_load (root, "w1", &error);
  }
  ck_assert_msg (again != NULL, "%s", error ? error->message : "");
  ck_assert_int_eq (nl_journal_find_host (again, "hv")->guests->len, h->guests->len);
  ck_assert_int_eq (guest (again, "g-nested")->action, NL_GUEST_SHUTDOWN);
  ck_assert_int_eq (guest (again, "g-shut")->reboots, 1);
  case_clear (&c);
}
END_TEST

START_TEST (a_host_that_does_not_come_back_stops_resumable_and_resume_finishes)
{
  Case c;
  g_autoptr (NlJournal) j = NULL;
  g_autoptr (NlJournal) done = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *bootfile = NULL;
  NlRolloutOptions o = { .now = TRUE, .poll_ms = 50 };
  g_autoptr (NlRolloutDriver) driver = NULL;
  NlHostRecord *h;

  /* The reboot command takes the boot id away: the host stays "down". */
  case_init (&c, "rm -f BOOTFILE", 3);
  bootfile = g_build_filename (c.dir, "boot", NULL);
  {
    g_autofree char *xml = NULL;
    g_autoptr (GString) s = NULL;
    ck_assert (g_file_get_contents (c.plan, &xml, NULL, NULL));
    s = g_string_new (xml);
    g_string_replace (s, "BOOTFILE", bootfile, 0);
    ck_assert (g_file_set_contents (c.plan, s->str, -1, NULL));
  }
  /* Stopped as if killed: the journal says running, no process holds it. */
  j = run_plan (&c, "w2", NL_RUN_RUNNING);
  h = nl_journal_find_host (j, "hv");
  ck_assert_int_eq (h->state, NL_HOST_REBOOTING);
  ck_assert_msg (j->reason && strstr (j->reason, "host hv is not back") && strstr (j->reason, "resume w2"),
                 "%s", j->reason);
  /* Down: every running guest is stopped, none is lost. */
  ck_assert (managed_save (c.conn, "g-save"));
  ck_assert (!active (c.conn, "g-shut"));

  /* Aborting now would leave the guests down: refused, resume says how. */
  {
    g_autofree char *root = g_build_filename (c.state, "rollouts", NULL);
    g_autoptr (GError) local = NULL;
    ck_assert (!nl_rollout_abort (root, "w2", NULL, &local));
    ck_assert (g_error_matches (local, NL_ERROR, NL_ERROR_CONFLICT));
    ck_assert_msg (strstr (local->message, "rollout resume w2") != NULL, "%s", local->message);
  }

  /* The host comes back with a new boot. */
  ck_assert (g_file_set_contents (bootfile, "boot-2\n", -1, NULL));
  driver = nl_rollout_virt_driver_new (TEST_URI, &error);
  done = nl_rollout_resume ("w2", driver, &o, &error);
  ck_assert_msg (done != NULL, "%s", error ? error->message : "");
  ck_assert_msg (done->state == NL_RUN_DONE, "%s", done->reason ? done->reason : "");
  ck_assert_int_eq (nl_journal_find_host (done, "hv")->state, NL_HOST_DONE);
  ck_assert (active (c.conn, "g-save") && !managed_save (c.conn, "g-save"));
  ck_assert (active (c.conn, "g-shut"));
  case_clear (&c);
}
END_TEST

START_TEST (a_reboot_that_never_happens_fails_the_host_and_brings_the_guests_back)
{
  Case c;
  g_autoptr (NlJournal) j = NULL;
  NlHostRecord *h;

  case_init (&c, "true", 3);
  j = run_plan (&c, "w3", NL_RUN_HALTED);
  h = nl_journal_find_host (j, "hv");
  ck_assert_int_eq (h->state, NL_HOST_FAILED);
  ck_assert_msg (h->message && strstr (h->message, "boot id did not change"), "%s", h->message);
  ck_assert (active (c.conn, "g-save") && !managed_save (c.conn, "g-save"));
  ck_assert (active (c.conn, "g-shut"));
  ck_assert (active (c.conn, "test"));
  case_clear (&c);
}
END_TEST

static Suite *
host_rollout_suite (void)
{
  Suite *s = suite_create ("host-rollout");
  TCase *tc = tcase_create ("window");

  tcase_add_test (tc, a_window_stops_updates_reboots_and_brings_back_every_guest);
  tcase_add_test (tc, a_host_that_does_not_come_back_stops_resumable_and_resume_finishes);
  tcase_add_test (tc, a_reboot_that_never_happens_fails_the_host_and_brings_the_guests_back);
  suite_add_tcase (s, tc);
  return s;
}

NL_TEST_MAIN (host_rollout_suite)
