# Golden values for trialanalysis.models.imputation.pool_rubin
# (run: Rscript make_golden.R). Rubin's rules with Barnard-Rubin degrees of
# freedom from mice::pool.scalar, for hand-made estimates of m imputations.
suppressPackageStartupMessages(library(mice))
cases <- list(
  list(name = "small_m_finite_df", Q = c(1.20, 1.35, 0.98, 1.10, 1.41), U = c(0.090, 0.085, 0.101, 0.094, 0.088), n = 40, k = 4),
  list(name = "large_between", Q = c(-3.1, -1.2, -2.4, -4.0, -0.7, -2.2, -3.3, -1.9, -2.8, -2.5), U = rep(0.64, 10), n = 200, k = 6),
  list(name = "infinite_df", Q = c(0.51, 0.47, 0.55), U = c(0.010, 0.012, 0.011), n = Inf, k = 1)
)
rows <- lapply(cases, function(case) {
  p <- pool.scalar(case$Q, case$U, n = case$n, k = case$k)
  data.frame(
    case = case$name, m = length(case$Q), df_complete = case$n - case$k,
    estimates = paste(case$Q, collapse = ";"), variances = paste(case$U, collapse = ";"),
    qbar = p$qbar, ubar = p$ubar, b = p$b, t = p$t, df = p$df, r = p$r, fmi = p$fmi
  )
})
write.csv(do.call(rbind, rows), "rubin_golden.csv", row.names = FALSE)
