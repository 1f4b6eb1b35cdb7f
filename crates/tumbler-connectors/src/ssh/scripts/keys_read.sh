# Prints the file (nothing when it does not exist).
if [ -f "$f" ]; then cat "$f"; fi
