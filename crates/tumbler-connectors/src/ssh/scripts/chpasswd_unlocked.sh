# As root: reads the `user:password` line from standard input (the username is never part
# of a command line), refuses a locked account (its hash starts with `!`: chpasswd would
# unlock it), else hands the line to chpasswd (printf is a shell builtin: the line is on no
# command line).
IFS= read -r line || exit 2
hash=$(getent shadow "${line%%:*}" | cut -d: -f2)
case "$hash" in "!"*) echo TUMBLER-ACCOUNT-LOCKED >&2; exit 3;; esac
printf '%s\n' "$line" | chpasswd
