"""Learning from search: synthetic problems, trace-trained policy and value networks, expert iteration."""
