"""Operations: dashboard, exports, health and metrics."""
