"""Local imitations of the four commercial face-comparison APIs (DESIGN §10), like stripe-mock."""
