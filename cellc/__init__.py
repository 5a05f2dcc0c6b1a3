"""cellc: an ahead-of-time compiler for MindSpore-style models."""
