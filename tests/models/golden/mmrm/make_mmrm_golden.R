# Golden values for trialanalysis' MMRM engine (residual covariance structures).
#
# Writes repeated-measures data sets (data/*.csv: three from nlme's own data,
# Orthodont, BodyWeight and Dialyzer, one with visits deleted at random, and
# two simulated here) and records what nlme::gls reports for each covariance
# structure (REML and, for some, ML): -2 log-likelihood, coefficients, their
# standard errors, the estimated visit covariance matrix, and emmeans'
# between-group contrasts per visit with Satterthwaite df
# (mode = "satterthwaite"). For compound symmetry with a positive
# correlation the same model is a random-intercept lmer; its Kenward-Roger
# (pbkrtest) and Satterthwaite (lmerTest) df are recorded as an independent
# reference for those methods.
#
# Structures map to gls as follows (visit index vnum = 1..T):
#   us    corSymm(form = ~ vnum | id) + varIdent(form = ~ 1 | visit)
#   cs    corCompSymm(form = ~ 1 | id)
#   csh   corCompSymm(form = ~ 1 | id) + varIdent(form = ~ 1 | visit)
#   ar1   corAR1(form = ~ vnum | id)
#   ar1h  corAR1(form = ~ vnum | id) + varIdent(form = ~ 1 | visit)
#   toep  corARMA(form = ~ vnum | id, p = T - 1)
#   toeph corARMA(form = ~ vnum | id, p = T - 1) + varIdent(form = ~ 1 | visit)
#
# emmeans' Satterthwaite df for gls rest on nlme's numerical apVar (and, for
# most heterogeneous structures, on its cruder "appx-satterthwaite"), so they
# are recorded with the mode used. As the df reference for every structure,
# reference_df() below recomputes Satterthwaite (numDeriv Hessian of the REML
# criterion, numDeriv Jacobian of vcov) and Kenward-Roger (1997, with the
# second-derivative term, in SAS's natural covariance parameters) by dense
# per-subject algebra at nlme's estimate of the visit covariance.
#
# Run from this folder:  Rscript make_mmrm_golden.R   (versions in versions.json)

suppressPackageStartupMessages({
  library(nlme)
  library(emmeans)
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(jsonlite)
  library(numDeriv)
})
emm_options(msg.interaction = FALSE, msg.nesting = FALSE)
dir.create("data", showWarnings = FALSE)

# ---------------------------------------------------------------- data sets

orthodont <- function() {
  d <- as.data.frame(nlme::Orthodont)
  data.frame(id = as.character(d$Subject), visit = sprintf("age%02d", d$age),
             sex = as.character(d$Sex), y = d$distance)
}

orthodont_missing <- function() {
  set.seed(1601)
  d <- orthodont()
  drop <- sample(nrow(d), 25)
  d <- d[-drop, ]
  # keep one subject per sex complete (for the covariance of all visits)
  d
}

bodyweight <- function() {
  d <- as.data.frame(nlme::BodyWeight)
  d <- d[d$Time %in% c(1, 22, 43, 64), ]
  data.frame(id = paste0("rat", as.character(d$Rat)), visit = sprintf("day%02d", d$Time),
             diet = paste0("diet", as.character(d$Diet)), y = d$weight)
}

dialyzer <- function() {
  d <- as.data.frame(nlme::Dialyzer)
  data.frame(id = paste0("s", as.character(d$Subject)),
             visit = sprintf("p%d", as.integer(d$index)),
             qb = paste0("qb", as.character(d$QB)), y = d$rate)
}

simulate_mar <- function() {
  # PREPARE-like: baseline + 4 follow-ups, SDs rising, AR-type correlation,
  # dropout depending on the last observed value, some intermittent gaps.
  set.seed(1602)
  n <- 150; T <- 4
  sds <- c(8, 10, 12, 14)
  rho <- 0.7
  R <- rho^abs(outer(1:T, 1:T, "-"))
  S <- diag(sds) %*% R %*% diag(sds)
  arm <- rep(c("control", "treat"), length.out = n)
  base <- round(rnorm(n, 40, 9), 2)
  e <- matrix(rnorm(n * T), n) %*% chol(S)
  mu <- outer(rep(1, n), c(-4, -6, -7, -8)) + outer(arm == "treat", c(-5, -4, -3, -3)) +
    0.6 * outer(base - 40, rep(1, T))
  y <- 40 + mu + e
  keep <- matrix(TRUE, n, T)
  for (i in seq_len(n)) for (t in 2:T) {
    if (!keep[i, t - 1]) { keep[i, t] <- FALSE; next }
    p <- plogis(-3 + 0.08 * (y[i, t - 1] - 35))
    if (runif(1) < p) keep[i, t:T] <- FALSE
  }
  keep[cbind(sample(n, 12), sample(2:3, 12, TRUE))] <- FALSE
  rows <- which(keep, arr.ind = TRUE)
  rows <- rows[order(rows[, 1], rows[, 2]), ]
  data.frame(id = sprintf("p%03d", rows[, 1]), visit = paste0("m", c(3, 6, 12, 24)[rows[, 2]]),
             arm = arm[rows[, 1]], base = base[rows[, 1]], y = round(y[rows], 3))
}

simulate_balanced <- function() {
  # complete and balanced: the unstructured model is a multivariate regression
  set.seed(1603)
  n <- 40; T <- 3
  S <- matrix(c(25, 15, 10, 15, 36, 20, 10, 20, 49), 3)
  arm <- rep(c("control", "treat"), each = n / 2)
  base <- round(rnorm(n, 20, 4), 2)
  y <- 10 + outer(arm == "treat", c(-2, -3, -4)) + 0.5 * (base - 20) +
    matrix(rnorm(n * T), n) %*% chol(S)
  data.frame(id = rep(sprintf("b%02d", 1:n), each = T), visit = rep(paste0("v", 1:T), n),
             arm = rep(arm, each = T), base = rep(base, each = T), y = round(as.vector(t(y)), 3))
}

# ---------------------------------------------------------------- fitting

structure_args <- function(structure, T) {
  het <- varIdent(form = ~ 1 | visit)
  switch(structure,
    us = list(cor = corSymm(form = ~ vnum | id), weights = het),
    cs = list(cor = corCompSymm(form = ~ 1 | id), weights = NULL),
    csh = list(cor = corCompSymm(form = ~ 1 | id), weights = het),
    ar1 = list(cor = corAR1(form = ~ vnum | id), weights = NULL),
    ar1h = list(cor = corAR1(form = ~ vnum | id), weights = het),
    toep = list(cor = corARMA(form = ~ vnum | id, p = T - 1, q = 0), weights = NULL),
    toeph = list(cor = corARMA(form = ~ vnum | id, p = T - 1, q = 0), weights = het))
}

visit_covariance <- function(fit, d) {
  complete <- names(which(table(d$id) == nlevels(d$visit)))[1]
  V <- getVarCov(fit, individual = complete)
  unclass(V)[seq_len(nlevels(d$visit)), seq_len(nlevels(d$visit))]
}

# ------------------------------------------------- reference df (dense R)

natural_from_sigma <- function(structure, S) {
  T <- nrow(S); C <- cov2cor(S)
  switch(structure,
    us = S[lower.tri(S, diag = TRUE)],
    cs = c(S[2, 1], S[1, 1] - S[2, 1]),
    csh = c(diag(S), C[2, 1]),
    ar1 = c(S[1, 1], C[2, 1]),
    ar1h = c(diag(S), C[2, 1]),
    toep = S[1, ],
    toeph = c(diag(S), C[1, -1]))
}

sigma_from_natural <- function(structure, psi, T) {
  lag <- abs(outer(1:T, 1:T, "-"))
  scale <- function(v, C) diag(sqrt(v), T) %*% C %*% diag(sqrt(v), T)
  switch(structure,
    us = { S <- matrix(0, T, T); S[lower.tri(S, diag = TRUE)] <- psi
           S + t(S) - diag(diag(S)) },
    cs = psi[1] + diag(psi[2], T),
    csh = scale(psi[1:T], ifelse(lag == 0, 1, psi[T + 1])),
    ar1 = psi[1] * psi[2]^lag,
    ar1h = scale(psi[1:T], psi[T + 1]^lag),
    toep = matrix(psi[lag + 1], T),
    toeph = scale(psi[1:T], matrix(c(1, psi[(T + 1):(2 * T - 1)])[lag + 1], T)))
}

reference_df <- function(d, fixed, structure, S_hat, L) {
  T <- nrow(S_hat)
  X <- model.matrix(fixed, d)
  p <- ncol(X); n <- nrow(X)
  subjects <- split(seq_len(n), d$id)
  vis <- lapply(subjects, function(r) as.integer(d$visit[r]))
  blocks <- function(S) lapply(vis, function(v) solve(S[v, v, drop = FALSE]))
  M_of <- function(inv) Reduce(`+`, Map(function(r, Si) t(X[r, , drop = FALSE]) %*% Si %*% X[r, , drop = FALSE], subjects, inv))
  deviance <- function(psi) {
    S <- sigma_from_natural(structure, psi, T)
    if (any(eigen(S, symmetric = TRUE, only.values = TRUE)$values <= 0)) return(Inf)
    inv <- blocks(S)
    M <- M_of(inv)
    c <- Reduce(`+`, Map(function(r, Si) t(X[r, , drop = FALSE]) %*% Si %*% d$y[r], subjects, inv))
    beta <- solve(M, c)
    quad <- sum(unlist(Map(function(r, Si) { e <- d$y[r] - X[r, , drop = FALSE] %*% beta; t(e) %*% Si %*% e }, subjects, inv)))
    logdet <- sum(sapply(vis, function(v) determinant(S[v, v, drop = FALSE])$modulus))
    (n - p) * log(2 * pi) + logdet + as.numeric(determinant(M)$modulus) + quad
  }
  vcov_of <- function(psi) solve(M_of(blocks(sigma_from_natural(structure, psi, T))))
  psi <- natural_from_sigma(structure, S_hat)
  m <- length(psi)
  Phi <- vcov_of(psi)
  # Satterthwaite: A = 2 H^-1, gradient of vcov by numDeriv
  A <- 2 * solve(hessian(deviance, psi, method.args = list(d = 1e-3, r = 4)))
  J <- jacobian(function(z) as.vector(vcov_of(z)), psi)
  dPhi <- lapply(seq_len(m), function(k) matrix(J[, k], p))
  satt <- apply(L, 1, function(l) {
    g <- sapply(dPhi, function(D) sum(l * (D %*% l)))
    2 * sum(l * (Phi %*% l))^2 / sum(g * (A %*% g))
  })
  # Kenward-Roger in the natural parameters
  JS <- jacobian(function(z) as.vector(sigma_from_natural(structure, z, T)), psi)
  G <- lapply(seq_len(m), function(k) matrix(JS[, k], T))
  H2 <- lapply(seq_len(m), function(k) lapply(seq_len(m), function(l) matrix(0, T, T)))
  if (structure %in% c("csh", "ar1", "ar1h", "toeph")) {
    for (k in seq_len(m)) {
      Jk <- jacobian(function(z) jacobian(function(w) as.vector(sigma_from_natural(structure, w, T)), z)[, k], psi)
      for (l in seq_len(m)) H2[[k]][[l]] <- matrix(Jk[, l], T)
    }
  }
  inv <- blocks(sigma_from_natural(structure, psi, T))
  P <- lapply(seq_len(m), function(k) matrix(0, p, p))
  Q <- lapply(seq_len(m), function(k) lapply(seq_len(m), function(l) matrix(0, p, p)))
  R <- Q
  K <- matrix(0, m, m)
  for (i in seq_along(subjects)) {
    v <- vis[[i]]; Si <- inv[[i]]; SX <- Si %*% X[subjects[[i]], , drop = FALSE]
    Gi <- lapply(G, function(g) g[v, v, drop = FALSE])
    for (k in seq_len(m)) {
      P[[k]] <- P[[k]] - t(SX) %*% Gi[[k]] %*% SX
      for (l in seq_len(m)) {
        Q[[k]][[l]] <- Q[[k]][[l]] + t(SX) %*% Gi[[k]] %*% Si %*% Gi[[l]] %*% SX
        R[[k]][[l]] <- R[[k]][[l]] + t(SX) %*% H2[[k]][[l]][v, v, drop = FALSE] %*% SX
        K[k, l] <- K[k, l] + sum(diag(Si %*% Gi[[k]] %*% Si %*% Gi[[l]]))
      }
    }
  }
  info <- matrix(0, m, m)
  for (k in seq_len(m)) for (l in seq_len(m)) {
    info[k, l] <- K[k, l] - 2 * sum(diag(Phi %*% Q[[k]][[l]])) +
      sum(diag(Phi %*% P[[k]] %*% Phi %*% P[[l]]))
  }
  W <- solve(info / 2)
  U <- matrix(0, p, p)
  for (k in seq_len(m)) for (l in seq_len(m)) {
    U <- U + W[k, l] * (Q[[k]][[l]] - P[[k]] %*% Phi %*% P[[l]] - R[[k]][[l]] / 4)
  }
  Phi_A <- Phi + 2 * Phi %*% U %*% Phi
  kr <- t(apply(L, 1, function(l) {
    Theta <- outer(l, l) / sum(l * (Phi %*% l))
    u <- lapply(P, function(Pk) Theta %*% Phi %*% Pk %*% Phi)
    A1 <- 0; A2 <- 0
    for (k in seq_len(m)) for (j in seq_len(m)) {
      A1 <- A1 + W[k, j] * sum(diag(u[[k]])) * sum(diag(u[[j]]))
      A2 <- A2 + W[k, j] * sum(diag(u[[k]] %*% u[[j]]))
    }
    q <- 1
    B <- (A1 + 6 * A2) / (2 * q)
    g <- ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    den <- 3 * q + 2 * (1 - g)
    c1 <- g / den; c2 <- (q - g) / den; c3 <- (q + 2 - g) / den
    Estar <- 1 / (1 - A2 / q)
    Vstar <- (2 / q) * (1 + c1 * B) / ((1 - c2 * B)^2 * (1 - c3 * B))
    rho <- Vstar / (2 * Estar^2)
    c(df = 4 + (q + 2) / (q * rho - 1), se = sqrt(sum(l * (Phi_A %*% l))))
  }))
  data.frame(satterthwaite = satt, kenward_roger = kr[, "df"], kr_std_error = kr[, "se"])
}

record_fit <- function(d, fixed, group, structure, method) {
  T <- nlevels(d$visit)
  args <- structure_args(structure, T)
  # optim (BFGS) converges more tightly than gls' default nlminb; where it
  # fails (corARMA), nlminb is used and the tighter of the two kept.
  fits <- list()
  for (opt in c("optim", "nlminb")) {
    call_args <- list(model = fixed, data = d, correlation = args$cor, method = method,
                      control = glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-12,
                                           msTol = 1e-12, opt = opt))
    if (!is.null(args$weights)) call_args$weights <- args$weights
    fit <- tryCatch(do.call(gls, call_args), error = function(e) NULL)
    if (!is.null(fit)) fits[[opt]] <- fit
  }
  if (length(fits) == 0) return(NULL)
  fit <- fits[[which.max(sapply(fits, function(f) as.numeric(logLik(f))))]]
  if (is.null(fit)) return(NULL)
  X <- model.matrix(fixed, d)
  out <- list(
    structure = structure, method = method,
    loglik = as.numeric(logLik(fit)),
    half_logdet_xtx = sum(log(abs(diag(qr(X)$qr)))),
    coefficients = as.list(coef(fit)),
    std_errors = as.list(sqrt(diag(vcov(fit)))),
    covariance = visit_covariance(fit, d))
  if (method == "REML") {
    form <- as.formula(paste("~", group, "| visit"))
    base <- pairs(emmeans(fit, form, mode = "df.error"))
    con <- as.data.frame(summary(base))
    out$contrasts <- data.frame(visit = as.character(con$visit), contrast = as.character(con$contrast),
                                estimate = con$estimate, std_error = con$SE)
    mode <- "satterthwaite"
    emm_df <- tryCatch(withCallingHandlers(
      as.data.frame(summary(pairs(emmeans(fit, form, mode = "satterthwaite"))))$df,
      message = function(m) { if (grepl("appx-satterthwaite", conditionMessage(m))) mode <<- "appx-satterthwaite"
                              invokeRestart("muffleMessage") }),
      error = function(e) rep(NA, nrow(con)))
    out$contrasts$emmeans_df <- emm_df
    out$emmeans_mode <- mode
    ref <- reference_df(d, fixed, structure, out$covariance, base@linfct)
    out$contrasts <- cbind(out$contrasts, ref)
  }
  out
}

record_lmer <- function(d, fixed, group) {
  f <- update(fixed, . ~ . + (1 | id))
  fit <- lmer(f, data = d, REML = TRUE, control = lmerControl(optimizer = "bobyqa"))
  if (VarCorr(fit)$id[1] <= 0) return(NULL)
  form <- as.formula(paste("~", group, "| visit"))
  res <- list(deviance = as.numeric(-2 * logLik(fit)))
  for (mode in c("kenward-roger", "satterthwaite")) {
    con <- as.data.frame(summary(pairs(emmeans(fit, form, lmer.df = mode))))
    res[[gsub("-", "_", mode)]] <- data.frame(visit = as.character(con$visit),
      contrast = as.character(con$contrast), estimate = con$estimate, std_error = con$SE,
      df = con$df)
  }
  res
}

datasets <- list(
  orthodont = list(data = orthodont(), fixed = y ~ sex * visit, group = "sex"),
  orthodont_missing = list(data = orthodont_missing(), fixed = y ~ sex * visit, group = "sex"),
  bodyweight = list(data = bodyweight(), fixed = y ~ diet * visit, group = "diet"),
  dialyzer = list(data = dialyzer(), fixed = y ~ qb * visit, group = "qb"),
  simulated_mar = list(data = simulate_mar(), fixed = y ~ arm * visit + base * visit,
                       group = "arm"),
  simulated_balanced = list(data = simulate_balanced(), fixed = y ~ arm * visit + base * visit,
                            group = "arm"))
structures <- c("us", "cs", "csh", "ar1", "ar1h", "toep", "toeph")
ml <- c("us", "ar1h")

for (name in names(datasets)) {
  spec <- datasets[[name]]
  d <- spec$data
  d <- d[order(d$id, d$visit), ]
  write.csv(d, file.path("data", paste0(name, ".csv")), row.names = FALSE)
  for (column in setdiff(names(d), c("y", "base"))) d[[column]] <- factor(d[[column]])
  d$vnum <- as.integer(d$visit)
  fits <- list()
  for (structure in structures) {
    for (method in c("REML", if (structure %in% ml) "ML")) {
      r <- record_fit(d, spec$fixed, spec$group, structure, method)
      if (!is.null(r)) fits[[length(fits) + 1]] <- r
      cat(name, structure, method, if (is.null(r)) "failed" else "ok", "\n")
    }
  }
  golden <- list(dataset = name, formula = deparse(spec$fixed), group = spec$group,
                 visits = levels(d$visit), fits = fits, lmer_cs = record_lmer(d, spec$fixed, spec$group))
  write_json(golden, paste0(name, ".json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
}

versions <- list(R = paste(R.version$major, R.version$minor, sep = "."))
for (p in c("nlme", "emmeans", "lme4", "lmerTest", "pbkrtest")) {
  versions[[p]] <- as.character(packageVersion(p))
}
write_json(versions, "versions.json", auto_unbox = TRUE, pretty = TRUE)
