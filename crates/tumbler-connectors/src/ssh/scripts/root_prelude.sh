# Run first in every root step. $1: the marker announcing that the root shell is ready to
# read its input; the step's own parameters follow it.
# su keeps the caller's PATH, which may lack the sbin directories.
PATH=/usr/local/sbin:/usr/sbin:/sbin:$PATH
echo "$1" >&2
shift
