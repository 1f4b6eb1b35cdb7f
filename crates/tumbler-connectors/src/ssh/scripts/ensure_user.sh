# As root. $1: the username. Creates the user (home directory, /bin/sh) unless it exists.
if id -u "$1" >/dev/null 2>&1; then
  echo exists
else
  useradd -m -s /bin/sh "$1" && echo created
fi
