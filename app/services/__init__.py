"""Business rules. Views and CLI commands parse input and call one service function."""
