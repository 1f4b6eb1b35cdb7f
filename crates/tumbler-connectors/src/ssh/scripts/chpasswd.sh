# As root: hands the `user:password` line on standard input to chpasswd.
exec chpasswd
