"""One blueprint per user group or area; ``common`` holds what every view shares."""
