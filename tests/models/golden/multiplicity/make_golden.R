# Golden values for tests/models/test_multiplicity.py: R's p.adjust (Holm,
# Hochberg) on families with ties, p = 1, p = 0, NA and unsorted input.
# Usage (from this folder): Rscript make_golden.R
cases <- list(
  issue = c(0.046, 0.426, 0.011),
  ties = c(0.02, 0.02, 0.03, 0.5),
  with_one = c(1, 0.001, 0.04, 1),
  zero = c(0, 0.2, 0.05),
  one_only = c(0.3),
  increasing = c(0.01, 0.02, 0.03, 0.04, 0.05),
  with_na = c(0.01, NA, 0.04, 0.02),
  wide = c(0.9, 0.0001, 0.049, 0.012, 0.3, 0.049)
)
rows <- list()
for (name in names(cases)) {
  p <- cases[[name]]
  for (method in c("holm", "hochberg")) {
    rows[[length(rows) + 1]] <- data.frame(case = name, method = method,
      index = seq_along(p), p = p, adjusted = p.adjust(p, method = method))
  }
}
out <- do.call(rbind, rows)
write.csv(out, "p_adjust_golden.csv", row.names = FALSE, na = "")
writeLines(R.version.string, "versions.txt")
