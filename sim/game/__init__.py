"""Strategic vendors: best responses by simulation, iterated to where no vendor gains by changing."""
