"""Multi-agent games: self-play on complete-information games (`recon games selfplay`) and the
OpenSpiel arena (`recon games arena`)."""
