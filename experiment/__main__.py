import sys

from experiment.cli import build_parser, main
from halfface.cli import print_commands

if __name__ == "__main__":
    # python -m experiment without a command: every command with an example (the parser's epilog)
    sys.exit(main() if sys.argv[1:] else print_commands(build_parser()))
