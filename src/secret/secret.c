/* Resolving secrets: files (0600 or refused), environment variables, and
 * generated values stored under nestlab's state folder. Reads and writes go
 * through file descriptors opened without following symbolic links, so a
 * link planted in the state folder cannot redirect them. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include <nestlab/error.h>
#include <nestlab/secret.h>

#define DIGEST_KEY_FILE ".digest-key"
#define DIGEST_KEY_SIZE 32

void
nl_secret_value_free (char *value)
{
  if (value == NULL)
    return;
  explicit_bzero (value, strlen (value));
  g_free (value);
}

char *
nl_secret_lab_dir (const char *state_dir, const char *lab)
{
  g_autofree char *root = state_dir ? g_strdup (state_dir) : nl_state_path (NULL);
  return g_build_filename (root, "secrets", lab, NULL);
}

/* Frees a read_private buffer, overwritten first. */
static void
wipe_buffer (gpointer data)
{
  explicit_bzero (data, NL_SECRET_MAX_SIZE + 1);
  g_free (data);
}

/* Reads at most NL_SECRET_MAX_SIZE bytes of a regular file that only its
 * owner may read. WHAT names it in messages ("secret 'x' (lab.xml:4)"). */
static GBytes *
read_private (const char *path, const char *what, gboolean *missing, GError **error)
{
  g_autofree char *buf = NULL;
  struct stat st;
  gsize len = 0;
  int fd;

  if (missing != NULL)
    *missing = FALSE;
  fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int e = errno;
      if (missing != NULL && e == ENOENT)
        *missing = TRUE;
      g_set_error (error, NL_ERROR, e == ENOENT ? NL_ERROR_NOT_FOUND : NL_ERROR_INVALID,
                   "%s: cannot open %s: %s", what, path,
                   e == ELOOP ? "it is a symbolic link" : g_strerror (e));
      return NULL;
    }
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: %s is not a regular file", what, path);
      close (fd);
      return NULL;
    }
  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "%s: %s has mode %04o, so others may read it: nestlab takes secrets only from "
                   "files of mode 0600 or stricter (chmod 600 %s)",
                   what, path, (unsigned) (st.st_mode & 07777), path);
      close (fd);
      return NULL;
    }
  if (st.st_size > NL_SECRET_MAX_SIZE)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: %s is larger than %d bytes", what, path,
                   NL_SECRET_MAX_SIZE);
      close (fd);
      return NULL;
    }
  buf = g_malloc0 (NL_SECRET_MAX_SIZE + 1);
  for (;;)
    {
      ssize_t n = read (fd, buf + len, NL_SECRET_MAX_SIZE - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          explicit_bzero (buf, len);
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "%s: cannot read %s: %s", what, path, g_strerror (e));
          close (fd);
          return NULL;
        }
      if (n == 0 || len + n >= NL_SECRET_MAX_SIZE)
        {
          len += n;
          break;
        }
      len += n;
    }
  close (fd);
  {
    char *data = g_steal_pointer (&buf);
    return g_bytes_new_with_free_func (data, len, wipe_buffer, data);
  }
}

/* The value in BYTES: one trailing newline (\n or \r\n) dropped, no NUL, no
 * other line breaks, not empty, valid UTF-8. */
static char *
value_from (const char *data, gsize len, const char *what, GError **error)
{
  if (len > 0 && data[len - 1] == '\n')
    len--;
  if (len > 0 && data[len - 1] == '\r')
    len--;
  if (len == 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s is empty", what);
      return NULL;
    }
  if (memchr (data, '\0', len) != NULL || memchr (data, '\n', len) != NULL
      || memchr (data, '\r', len) != NULL || !g_utf8_validate (data, len, NULL))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID,
                   "%s is not one line of text (no NUL, no line breaks, UTF-8)", what);
      return NULL;
    }
  return g_strndup (data, len);
}

static char *
value_from_bytes (GBytes *bytes, const char *what, GError **error)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  char *value = value_from (data, len, what, error);
  explicit_bzero ((char *) data, len);
  return value;
}

static gboolean
random_bytes (guchar *buf, gsize len, GError **error)
{
  gsize done = 0;
  while (done < len)
    {
      ssize_t n = getrandom (buf + done, len - done, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot get random bytes: %s", g_strerror (errno));
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}

/* A password Windows' complexity rules accept (upper and lower case,
 * digits, symbols), with no character that a shell, cmd.exe, XML or YAML
 * would treat specially. */
static char *
generate_password (GError **error)
{
  static const char *const classes[] = {
    "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "-_.+=@#",
  };
  static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.+=@#";
  char *value = g_malloc0 (NL_SECRET_GENERATED_LENGTH + 1);
  guchar raw[NL_SECRET_GENERATED_LENGTH];

  for (;;)
    {
      gboolean all = TRUE;
      if (!random_bytes (raw, sizeof raw, error))
        {
          g_free (value);
          return NULL;
        }
      /* 64 symbols: each byte's low six bits pick one, without bias. */
      G_STATIC_ASSERT (sizeof alphabet - 1 == 64);
      for (guint i = 0; i < NL_SECRET_GENERATED_LENGTH; i++)
        value[i] = alphabet[raw[i] & 63];
      for (guint c = 0; c < G_N_ELEMENTS (classes); c++)
        all = all && strpbrk (value, classes[c]) != NULL;
      explicit_bzero (raw, sizeof raw);
      if (all)
        return value;
    }
}

static gboolean
make_private_dir (const char *dir, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (dir);

  /* The secrets folder and each lab's are the owner's alone. */
  if (g_mkdir_with_parents (parent, 0700) < 0 || (g_mkdir (dir, 0700) < 0 && errno != EEXIST))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/* Stores DATA at PATH unless a file is there already: written to a new
 * temporary file (0600) and linked into place, which fails when another
 * run got there first. *RACED says so; the caller then reads the winner. */
static gboolean
store_new (const char *path, const void *data, gsize len, gboolean *raced, GError **error)
{
  g_autofree char *tmp = g_strdup_printf ("%s.new.%d", path, (int) getpid ());
  gboolean ok = FALSE;
  int fd;

  *raced = FALSE;
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", tmp, g_strerror (errno));
      return FALSE;
    }
  if (write (fd, data, len) != (ssize_t) len || fsync (fd) < 0)
    g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot write %s: %s", tmp, g_strerror (errno));
  else if (link (tmp, path) < 0)
    {
      if (errno == EEXIST)
        *raced = TRUE;
      else
        g_set_error (error, NL_ERROR, NL_ERROR_FAILED, "cannot create %s: %s", path, g_strerror (errno));
    }
  else
    ok = TRUE;
  close (fd);
  g_unlink (tmp);
  if (ok)
    {
      /* Make the new name durable. */
      g_autofree char *dir = g_path_get_dirname (path);
      int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0)
        {
          fsync (dfd);
          close (dfd);
        }
    }
  return ok || *raced;
}

/* The stored file at PATH, made with MAKE when there is none. */
static GBytes *
load_or_create (const char *dir, const char *path, const char *what,
                GBytes *(*make) (GError **error), GError **error)
{
  gboolean missing = FALSE;
  g_autoptr (GError) local = NULL;
  GBytes *bytes = read_private (path, what, &missing, &local);
  g_autoptr (GBytes) made = NULL;
  gboolean raced = FALSE;

  if (bytes != NULL || !missing)
    {
      if (bytes == NULL)
        g_propagate_error (error, g_steal_pointer (&local));
      return bytes;
    }
  if (!make_private_dir (dir, error) || (made = make (error)) == NULL)
    return NULL;
  if (!store_new (path, g_bytes_get_data (made, NULL), g_bytes_get_size (made), &raced, error))
    return NULL;
  if (raced)
    return read_private (path, what, NULL, error);
  return g_steal_pointer (&made);
}

static void
wipe_and_free (gpointer data)
{
  GString *s = data;
  explicit_bzero (s->str, s->len);
  g_string_free (s, TRUE);
}

static GBytes *
make_password (GError **error)
{
  char *value = generate_password (error);
  GString *s;
  if (value == NULL)
    return NULL;
  s = g_string_new (value);
  g_string_append_c (s, '\n');
  nl_secret_value_free (value);
  return g_bytes_new_with_free_func (s->str, s->len, wipe_and_free, s);
}

static GBytes *
make_key (GError **error)
{
  guchar *key = g_malloc (DIGEST_KEY_SIZE);
  if (!random_bytes (key, DIGEST_KEY_SIZE, error))
    {
      g_free (key);
      return NULL;
    }
  return g_bytes_new_take (key, DIGEST_KEY_SIZE);
}

char *
nl_secret_resolve (const NlLab *lab, const NlSecret *secret, const char *state_dir, GError **error)
{
  g_autofree char *what = g_strdup_printf ("secret '%s' (%s:%d)", secret->name,
                                           secret->src.file ? secret->src.file : lab->file,
                                           secret->src.line);

  switch (secret->source)
    {
    case NL_SECRET_FILE:
      {
        g_autoptr (GBytes) bytes = read_private (secret->file, what, NULL, error);
        if (bytes == NULL)
          return NULL;
        return value_from_bytes (bytes, what, error);
      }
    case NL_SECRET_ENV:
      {
        const char *value = g_getenv (secret->env);
        if (value == NULL)
          {
            g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: environment variable %s is not set",
                         what, secret->env);
            return NULL;
          }
        if (strlen (value) > NL_SECRET_MAX_SIZE)
          {
            g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: environment variable %s is longer than %d bytes",
                         what, secret->env, NL_SECRET_MAX_SIZE);
            return NULL;
          }
        return value_from (value, strlen (value), what, error);
      }
    case NL_SECRET_GENERATED:
      {
        g_autofree char *dir = NULL;
        g_autofree char *path = NULL;
        g_autoptr (GBytes) bytes = NULL;
        if (!nl_name_is_safe (lab->name) || !nl_name_is_safe (secret->name))
          {
            g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: lab and secret names must be safe file names", what);
            return NULL;
          }
        dir = nl_secret_lab_dir (state_dir, lab->name);
        path = g_build_filename (dir, secret->name, NULL);
        bytes = load_or_create (dir, path, what, make_password, error);
        if (bytes == NULL)
          return NULL;
        return value_from_bytes (bytes, what, error);
      }
    case NL_SECRET_SOURCE_LAST:
    default:
      break;
    }
  g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "%s: no source", what);
  return NULL;
}

GPtrArray *
nl_secret_names_used (const NlLab *lab)
{
  GPtrArray *names = g_ptr_array_new ();
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

#define USE(name) \
  G_STMT_START { \
    if ((name) != NULL && g_hash_table_add (seen, (gpointer) (name))) \
      g_ptr_array_add (names, (gpointer) (name)); \
  } G_STMT_END
  if (lab->domain != NULL)
    {
      USE (lab->domain->admin_password);
      USE (lab->domain->safe_mode_password);
    }
  for (guint i = 0; i < lab->machines->len; i++)
    USE (((NlMachine *) g_ptr_array_index (lab->machines, i))->admin_password);
#undef USE
  return names;
}

GHashTable *
nl_secret_resolve_all (const NlLab *lab, const char *state_dir, GError **error)
{
  g_autoptr (GHashTable) values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                         (GDestroyNotify) nl_secret_value_free);
  g_autoptr (GPtrArray) names = nl_secret_names_used (lab);

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      NlSecret *secret = nl_lab_find_secret (lab, name);
      char *value;
      if (secret == NULL)
        {
          g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "secret '%s' is used but not declared", name);
          return NULL;
        }
      if ((value = nl_secret_resolve (lab, secret, state_dir, error)) == NULL)
        return NULL;
      g_hash_table_insert (values, g_strdup (name), value);
    }
  return g_steal_pointer (&values);
}

char *
nl_secret_load_stored (const char *state_dir, const char *lab, const char *name, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *what = NULL;
  g_autoptr (GBytes) bytes = NULL;
  gboolean missing = FALSE;
  g_autoptr (GError) local = NULL;

  if (!nl_name_is_safe (lab) || !nl_name_is_safe (name))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_USAGE, "'%s' is not a %s name",
                   nl_name_is_safe (lab) ? name : lab, nl_name_is_safe (lab) ? "secret" : "lab");
      return NULL;
    }
  dir = nl_secret_lab_dir (state_dir, lab);
  path = g_build_filename (dir, name, NULL);
  what = g_strdup_printf ("secret '%s' of lab '%s'", name, lab);
  bytes = read_private (path, what, &missing, &local);
  if (bytes == NULL)
    {
      if (missing)
        g_set_error (error, NL_ERROR, NL_ERROR_NOT_FOUND,
                     "lab '%s' has no stored secret '%s' in %s (nestlab stores the secrets it "
                     "generates; a file or environment secret is where its template says)",
                     lab, name, dir);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return value_from_bytes (bytes, what, error);
}

GBytes *
nl_secret_digest_key (const char *state_dir, const char *lab, GError **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *what = g_strdup_printf ("the media digest key of lab '%s'", lab);

  if (!nl_name_is_safe (lab))
    {
      g_set_error (error, NL_ERROR, NL_ERROR_INVALID, "'%s' is not a lab name", lab);
      return NULL;
    }
  dir = nl_secret_lab_dir (state_dir, lab);
  path = g_build_filename (dir, DIGEST_KEY_FILE, NULL);
  return load_or_create (dir, path, what, make_key, error);
}
