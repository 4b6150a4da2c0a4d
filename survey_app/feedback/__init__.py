"""Residents' requests (问需/问计) followed through 发现 → 交办 → 整改 → 反馈."""
