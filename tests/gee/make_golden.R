# Golden values for trialanalysis.models.gee (run: Rscript make_golden.R).
# Writes gee_data.csv (simulated, seeded) and gee_golden.csv:
# geepack::geeglm logistic fits (independence and exchangeable working
# correlation; the dispersion estimated for the working correlation, as in
# statsmodels), the robust sandwich SEs,
# and the Mancl-DeRouen bias-reduced sandwich computed here from its
# definition (Mancl & DeRouen 2001, eq. 5).
suppressPackageStartupMessages(library(geepack))
set.seed(20261126)
K <- 17
m <- sample(8:40, K, replace = TRUE)
clinic <- rep(sprintf("C%02d", seq_len(K)), m)
treatment <- rep(rbinom(K, 1, 0.5), m)
age <- round(rnorm(sum(m), 45, 12))
u <- rep(rnorm(K, 0, 0.5), m)
y <- rbinom(sum(m), 1, plogis(-1 + 0.7 * treatment + 0.02 * (age - 45) + u))
dat <- data.frame(clinic_id = clinic, treatment = treatment, age = age, y = y)
write.csv(dat, "gee_data.csv", row.names = FALSE)

mancl_derouen <- function(fit, dat, alpha) {
  X <- model.matrix(fit)
  beta <- coef(fit)
  mu <- as.vector(plogis(X %*% beta))
  ids <- split(seq_len(nrow(X)), dat$clinic_id)
  p <- ncol(X)
  B <- matrix(0, p, p)
  parts <- list()
  for (g in names(ids)) {
    i <- ids[[g]]
    n <- length(i)
    A <- diag(mu[i] * (1 - mu[i]), n)
    D <- A %*% X[i, , drop = FALSE]
    R <- matrix(alpha, n, n); diag(R) <- 1
    V <- sqrt(A) %*% R %*% sqrt(A)
    Vi <- solve(V)
    B <- B + t(D) %*% Vi %*% D
    parts[[g]] <- list(D = D, Vi = Vi, e = dat$y[i] - mu[i])
  }
  Bi <- solve(B)
  meat <- matrix(0, p, p)
  meat_robust <- matrix(0, p, p)
  for (g in names(parts)) {
    D <- parts[[g]]$D; Vi <- parts[[g]]$Vi; e <- parts[[g]]$e
    H <- D %*% Bi %*% t(D) %*% Vi
    U <- solve(diag(nrow(H)) - H, e)
    s <- t(D) %*% Vi %*% U
    meat <- meat + s %*% t(s)
    s0 <- t(D) %*% Vi %*% e
    meat_robust <- meat_robust + s0 %*% t(s0)
  }
  list(md = Bi %*% meat %*% Bi, robust = Bi %*% meat_robust %*% Bi)
}

rows <- list()
for (corstr in c("independence", "exchangeable")) {
  fit <- geeglm(y ~ treatment + age, id = factor(clinic_id), data = dat,
                family = binomial, corstr = corstr)
  alpha <- if (corstr == "exchangeable") fit$geese$alpha[[1]] else 0
  v <- mancl_derouen(fit, dat, alpha)
  rows[[corstr]] <- data.frame(
    correlation = corstr,
    term = c("Intercept", "treatment", "age"),
    estimate = unname(coef(fit)),
    se_robust_geepack = unname(sqrt(diag(vcov(fit)))),
    se_robust = sqrt(diag(v$robust)),
    se_bias_reduced = sqrt(diag(v$md)),
    alpha = alpha
  )
}
write.csv(do.call(rbind, rows), "gee_golden.csv", row.names = FALSE)
