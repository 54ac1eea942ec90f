"""Generators: turn a GenerationRequest into a Clip of frames and sound. Knows nothing of chats."""
