# As root, or as the account itself. $1: the account; $2: a script to run as that account
# (never as root: the account owns its ~/.ssh and could point a path anywhere); the
# script's own parameters follow. The script gets the account as $1, then those parameters.
u=$1
s=$2
shift 2
if [ "$(id -u)" = 0 ]; then
  exec runuser -u "$u" -- /bin/sh -c "$s" tumbler "$u" "$@"
elif [ "$(id -un)" = "$u" ]; then
  exec /bin/sh -c "$s" tumbler "$u" "$@"
else
  echo "only root or $u may edit the keys of $u" >&2
  exit 7
fi
