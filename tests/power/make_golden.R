# Golden values for trialanalysis.power.analytic (GLS variance and power).
#
# Independent of the Python code's algebra: builds the full individual-level
# design matrix X (period dummies + treatment) and covariance matrix
# V = s_c Z_c Z_c' + s_cp Z_cp Z_cp' + s_e I of each design, and records
# Var(theta_hat) = [(X' V^-1 X)^-1]_theta, the normal power
# pnorm(|d|/se - z) + pnorm(-|d|/se - z) and the noncentral-t power on the
# stated df. The Python tests compare against golden.json and do not need R.
#
# Run from this folder:  Rscript make_golden.R

suppressPackageStartupMessages(library(jsonlite))

dummies <- function(f) {
  f <- factor(f)
  if (nlevels(f) == 1) matrix(1, length(f), 1) else model.matrix(~ 0 + f)
}

gls_var <- function(treatment, sizes, s_c, s_cp, s_e) {
  rows <- list()
  for (i in seq_len(nrow(treatment))) for (j in seq_len(ncol(treatment))) {
    if (!is.na(treatment[i, j]) && sizes[i, j] > 0)
      rows[[length(rows) + 1]] <- data.frame(cluster = i, period = j,
                                             x = treatment[i, j])[rep(1, sizes[i, j]), ]
  }
  d <- do.call(rbind, rows)
  X <- cbind(dummies(d$period), d$x)
  Zc <- dummies(d$cluster)
  Zcp <- dummies(paste(d$cluster, d$period))
  V <- s_c * Zc %*% t(Zc) + s_cp * Zcp %*% t(Zcp) + s_e * diag(nrow(d))
  info <- t(X) %*% solve(V, X)
  solve(info)[ncol(X), ncol(X)]
}

power_z <- function(d, se, alpha) {
  z <- qnorm(1 - alpha / 2)
  pnorm(abs(d) / se - z) + pnorm(-abs(d) / se - z)
}
power_t <- function(d, se, df, alpha) {
  q <- qt(1 - alpha / 2, df)
  pt(q, df, ncp = abs(d) / se, lower.tail = FALSE) + pt(-q, df, ncp = abs(d) / se)
}

case <- function(name, source, schedule, clusters, sizes, sd, icc, cac, effect, alpha = 0.05) {
  pattern <- do.call(rbind, lapply(schedule, function(r) sapply(r, function(v)
    if (is.null(v)) NA else as.numeric(v == "intervention"))))
  treatment <- pattern[rep(seq_along(clusters), unlist(clusters)), , drop = FALSE]
  if (length(sizes) == 1) {
    m <- matrix(sizes, nrow(treatment), ncol(treatment))
  } else {
    m <- do.call(rbind, unlist(sizes, recursive = FALSE))
  }
  m[is.na(treatment)] <- 0
  s_c <- icc * cac * sd^2; s_cp <- icc * (1 - cac) * sd^2; s_e <- (1 - icc) * sd^2
  v <- gls_var(treatment, m, s_c, s_cp, s_e)
  df <- nrow(treatment) - 2
  list(name = name, source = source,
       spec = list(design = list(schedule = schedule, clusters_per_sequence = clusters,
                                 individuals_per_cluster_period = sizes),
                   outcome = list(sd = sd, icc = icc, cac = cac), effect = effect,
                   alpha = alpha),
       variance = v, df = df,
       power_z = power_z(effect, sqrt(v), alpha), power_t = power_t(effect, sqrt(v), df, alpha))
}

N <- NULL
C <- "control"; I <- "intervention"
sw <- list(A = list(C, I, I, I, I), B = list(C, C, I, I, I), C = list(C, C, C, I, I),
           D = list(C, C, C, C, I))
dogleg <- list(A = list(C, I, N, N), B = list(N, C, I, N), C = list(N, N, C, I))
baseline <- list(A = list(C, C), B = list(C, I))
set.seed(13)
unequal <- function(clusters, schedule) {
  out <- list()
  for (s in names(clusters)) out[[s]] <- lapply(seq_len(clusters[[s]]), function(k)
    sapply(schedule[[s]], function(v) if (is.null(v)) 0L else sample(3:25, 1)))
  out
}
cases <- list(
  case("stepped_wedge_hh", "complete stepped wedge, Hussey & Hughes 2007 model",
       sw, list(A = 3, B = 3, C = 3, D = 3), 8, 10, 0.1, 1, -3),
  case("stepped_wedge_cac", "complete stepped wedge with cluster-period effect (Hooper 2016)",
       sw, list(A = 3, B = 3, C = 3, D = 3), 8, 10, 0.1, 0.7, -3),
  case("dogleg_hh", "BetterBack dog-leg (incomplete; Kasza 2019 type design)",
       dogleg, list(A = 6, B = 6, C = 5), 10, 14, 0.05, 1, -4),
  case("dogleg_cac", "BetterBack dog-leg with cluster-period effect",
       dogleg, list(A = 6, B = 6, C = 5), 10, 14, 0.05, 0.8, -4),
  case("dogleg_unequal", "dog-leg with known unequal cluster-period sizes",
       dogleg, list(A = 6, B = 6, C = 5), unequal(list(A = 6, B = 6, C = 5), dogleg),
       14, 0.05, 0.8, -4),
  case("baseline_unequal", "parallel design with baseline, known unequal sizes",
       baseline, list(A = 5, B = 5), unequal(list(A = 5, B = 5), baseline), 1, 0.1, 0.5, 0.5),
  case("parallel_unequal", "parallel design (one period), known unequal sizes",
       list(A = list(C), B = list(I)), list(A = 7, B = 6),
       unequal(list(A = 7, B = 6), list(A = list(C), B = list(I))), 2, 0.08, 1, 0.8)
)
writeLines(toJSON(list(R = R.version.string, cases = cases), auto_unbox = TRUE,
                  digits = NA, pretty = TRUE, null = "null"), "golden.json")
