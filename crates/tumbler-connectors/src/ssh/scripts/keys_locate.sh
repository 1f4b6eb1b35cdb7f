# As the account. $1: the account. Sets h (home), d (~/.ssh) and f (the authorized_keys
# file), failing when the user is unknown or a symbolic link is in the way.
e=$(getent passwd "$1")
[ "${e%%:*}" = "$1" ] || { echo "no such user: $1" >&2; exit 3; }
h=$(printf %s "$e" | cut -d: -f6)
d="$h/.ssh"
f="$d/authorized_keys"
if [ -L "$d" ] || [ -L "$f" ]; then echo "refusing a symbolic link at $d" >&2; exit 5; fi
