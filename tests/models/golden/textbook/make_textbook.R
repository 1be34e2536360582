# Golden values on the classic example data of lme4, nlme and R's datasets.
#
# Exports each data set to data/<name>.csv and records, for the model its
# documentation fits, what lme4 1.1 + lmerTest (Satterthwaite) + pbkrtest
# (Kenward-Roger) report, VarCorr, isSingular, and REML profile intervals of
# every standard deviation and correlation of the random part and of the
# residual SD.
#
# The profile intervals are computed here, independently of lme4's
# confint() (which profiles the ML deviance even for REML fits) and of the
# Python code: the unprofiled REML deviance
#   -2 l_R(psi) = log|V| + log|X'V^-1 X| + r'V^-1 r + (n - p) log(2 pi),
# with V = sigma^2 I + Z G Z', G block diagonal from the standard deviations
# and correlations psi, is evaluated through the matrix determinant lemma and
# the Woodbury identity on dense matrices, and minimised by nlminb (PORT)
# over all other parameters with one held fixed, from several starts. Only Z
# (getME(m, "Zt"), split by getME(m, "Gp")) is taken from lme4. The REML criterion at lme4's
# estimate is checked against lme4's REMLcrit.
#
# Run from this folder:  Rscript make_textbook.R

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(jsonlite)
})
data(Orthodont, Machines, Oats, Rail, ergoStool, package = "nlme")
dir.create("data", showWarnings = FALSE)

coef_table <- function(m, ddf) {
  s <- summary(m, ddf = ddf)$coefficients
  data.frame(term = rownames(s), estimate = s[, "Estimate"], std_error = s[, "Std. Error"],
             df = s[, "df"], statistic = s[, "t value"], p_value = s[, "Pr(>|t|)"],
             row.names = NULL)
}

# Parameters in lme4's order: per term the column-major lower triangle
# (standard deviations on the diagonal, correlations below), then sigma.
param_layout <- function(m) {
  cnms <- getME(m, "cnms")
  rows <- list()
  for (k in seq_along(cnms)) {
    nm <- cnms[[k]]
    for (c in seq_along(nm)) for (r in c:length(nm)) {
      rows[[length(rows) + 1]] <- data.frame(
        block = k, group = sub("\\.[0-9]+$", "", names(cnms)[k]), r = r, c = c,
        var1 = nm[c], var2 = if (r == c) "" else nm[r],
        kind = if (r == c) "sd" else "cor")
    }
  }
  rbind(do.call(rbind, rows),
        data.frame(block = 0, group = "Residual", r = 0, c = 0, var1 = "", var2 = "",
                   kind = "sigma"))
}

reml_deviance_fun <- function(m) {
  X <- getME(m, "X"); y <- getME(m, "y")
  n <- nrow(X); p <- ncol(X)
  Z <- t(as.matrix(getME(m, "Zt")))
  gp <- getME(m, "Gp")
  Zs <- lapply(seq_len(length(gp) - 1), function(k) Z[, (gp[k] + 1):gp[k + 1], drop = FALSE])
  q <- vapply(getME(m, "cnms"), length, 1L)
  layout <- param_layout(m)
  function(psi) {
    sigma <- psi[length(psi)]
    if (!(sigma > 0)) return(Inf)
    zl <- list()
    for (k in seq_along(Zs)) {
      rows <- layout[layout$block == k, ]
      values <- psi[layout$block == k]
      sd <- numeric(q[k]); cor <- diag(q[k])
      for (i in seq_len(nrow(rows))) {
        if (rows$kind[i] == "sd") sd[rows$r[i]] <- values[i]
        else cor[rows$r[i], rows$c[i]] <- cor[rows$c[i], rows$r[i]] <- values[i]
      }
      if (any(sd < 0) || min(eigen(cor, symmetric = TRUE, only.values = TRUE)$values) < -1e-10)
        return(Inf)
      e <- eigen(outer(sd, sd) * cor, symmetric = TRUE)
      Lk <- e$vectors %*% diag(sqrt(pmax(e$values, 0)), q[k])  # G_k = Lk Lk'
      nlev <- ncol(Zs[[k]]) / q[k]
      zl[[k]] <- Zs[[k]] %*% kronecker(diag(nlev), Lk)
    }
    ZL <- do.call(cbind, zl)  # Z G Z' = ZL ZL'
    s2 <- sigma^2
    M <- diag(ncol(ZL)) + crossprod(ZL) / s2
    cm <- tryCatch(chol(M), error = function(e) NULL)
    if (is.null(cm)) return(Inf)
    logdet_v <- n * log(s2) + 2 * sum(log(diag(cm)))
    vinv <- function(B) (B - ZL %*% backsolve(cm, forwardsolve(t(cm), crossprod(ZL, B))) / s2) / s2
    vx <- vinv(X); vy <- vinv(matrix(y))
    xvx <- crossprod(X, vx)
    cx <- tryCatch(chol(xvx), error = function(e) NULL)
    if (is.null(cx)) return(Inf)
    beta <- backsolve(cx, forwardsolve(t(cx), crossprod(X, vy)))
    r <- y - X %*% beta
    logdet_v + 2 * sum(log(diag(cx))) + sum(r * vinv(r)) + (n - p) * log(2 * pi)
  }
}

reml_profile <- function(m, level = 0.95) {
  dev <- reml_deviance_fun(m)
  layout <- param_layout(m)
  vc <- VarCorr(m)
  psi_hat <- numeric(nrow(layout))
  for (i in seq_len(nrow(layout))) {
    if (layout$kind[i] == "sigma") { psi_hat[i] <- sigma(m); next }
    s <- attr(vc[[layout$block[i]]], "stddev")
    if (layout$kind[i] == "sd") psi_hat[i] <- s[layout$r[i]]
    else psi_hat[i] <- attr(vc[[layout$block[i]]], "correlation")[layout$r[i], layout$c[i]]
  }
  psi_hat[is.nan(psi_hat)] <- 0
  lower <- ifelse(layout$kind == "cor", -1, 0); upper <- ifelse(layout$kind == "cor", 1, Inf)
  lower[layout$kind == "sigma"] <- sigma(m) / 100
  # Re-minimise from lme4's estimate (this also checks the criterion).
  opt <- nlminb(psi_hat, dev, lower = lower, upper = upper,
                control = list(eval.max = 5000, iter.max = 5000, rel.tol = 1e-14))
  stopifnot(abs(dev(psi_hat) - REMLcrit(m)) < 1e-6 * abs(REMLcrit(m)))
  if (opt$objective < dev(psi_hat)) psi_hat <- opt$par
  d0 <- dev(psi_hat)
  crit <- qchisq(level, 1)
  warm <- vector("list", length(psi_hat))
  prof <- function(j, v) {
    free <- setdiff(seq_along(psi_hat), j)
    best <- Inf
    # Profiles of models with correlations can have several local minima
    # (e.g. a correlation jumping to the other boundary): start from the
    # estimate, the previous profile point and each correlation at -0.9, 0, 0.9.
    starts <- list(psi_hat[free])
    if (!is.null(warm[[j]])) starts[[length(starts) + 1]] <- warm[[j]]
    for (k in which(layout$kind[free] == "cor")) for (r in c(-0.9, 0, 0.9)) {
      s <- psi_hat[free]; s[k] <- r; starts[[length(starts) + 1]] <- s
    }
    for (s in starts) {
      obj <- function(z) { psi <- psi_hat; psi[j] <- v; psi[free] <- z; dev(psi) }
      o <- nlminb(pmin(pmax(s, lower[free]), upper[free]), obj, lower = lower[free],
                  upper = upper[free],
                  control = list(eval.max = 5000, iter.max = 5000, rel.tol = 1e-13))
      if (o$objective < best) { best <- o$objective; warm[[j]] <<- o$par }
    }
    best - d0 - crit
  }
  limits <- function(j) {
    est <- psi_hat[j]; kind <- layout$kind[j]
    side <- function(direction) {
      edge <- if (direction < 0) lower[j] else upper[j]
      if (kind == "cor" || (kind == "sd" && direction < 0)) {
        if (est == edge) return(edge)
        if (prof(j, edge) < 0) return(edge)
      }
      inner <- est
      step <- if (kind == "cor") 0.05 else max(abs(est), 1e-3 * psi_hat[length(psi_hat)]) / 4
      repeat {
        outer <- inner + direction * step
        if (kind == "sigma" && direction < 0) outer <- inner / 1.5
        if (is.finite(edge) && direction * (outer - edge) >= 0) outer <- edge
        if (prof(j, outer) > 0) break
        inner <- outer; step <- step * 1.5
      }
      uniroot(function(v) prof(j, v), sort(c(inner, outer)), tol = 1e-10)$root
    }
    c(side(-1), side(1))
  }
  ci <- t(vapply(seq_along(psi_hat), limits, numeric(2)))
  data.frame(group = layout$group, var1 = layout$var1, var2 = layout$var2,
             parameter = layout$kind, estimate = psi_hat, lower = ci[, 1], upper = ci[, 2],
             deviance = d0)
}

golden <- function(name, d, formula, python_formula = formula) {
  write.csv(d, file.path("data", paste0(name, ".csv")), row.names = FALSE, na = "")
  d <- read.csv(file.path("data", paste0(name, ".csv")), stringsAsFactors = TRUE)
  m <- lmer(as.formula(formula), data = d, REML = TRUE,
            control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10)))
  vc <- as.data.frame(VarCorr(m))
  out <- list(
    formula = python_formula, r_formula = formula, data = paste0(name, ".csv"),
    n_used = nobs(m), sigma = sigma(m), deviance = REMLcrit(m), singular = isSingular(m),
    varcorr = data.frame(group = sub("\\.[0-9]+$", "", vc$grp),
                         var1 = ifelse(is.na(vc$var1), "", vc$var1),
                         var2 = ifelse(is.na(vc$var2), "", vc$var2),
                         vcov = vc$vcov, sdcor = vc$sdcor),
    satterthwaite = coef_table(m, "Satterthwaite"),
    kenward_roger = coef_table(m, "Kenward-Roger"),
    reml_profile_ci = reml_profile(m))
  write_json(out, paste0(name, ".json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
  cat(name, "done\n")
}

golden("sleepstudy", sleepstudy, "Reaction ~ Days + (Days | Subject)")
golden("sleepstudy_uncorrelated", sleepstudy, "Reaction ~ Days + (Days || Subject)")
golden("penicillin", Penicillin, "diameter ~ 1 + (1 | plate) + (1 | sample)")
golden("pastes", Pastes, "strength ~ 1 + (1 | batch/cask)")
golden("dyestuff2", Dyestuff2, "Yield ~ 1 + (1 | Batch)")
golden("machines", as.data.frame(Machines),
       "score ~ Machine + (1 | Worker) + (1 | Worker:Machine)")
golden("orthodont", as.data.frame(Orthodont), "distance ~ age * Sex + (age | Subject)")
golden("oats", as.data.frame(Oats), "yield ~ nitro + Variety + (1 | Block/Variety)")
golden("rail", as.data.frame(Rail), "travel ~ 1 + (1 | Rail)")
golden("ergostool", as.data.frame(ergoStool), "effort ~ Type + (1 | Subject)")
golden("chickweight", data.frame(ChickWeight[, c("weight", "Time", "Chick")],
                                 Diet = as.integer(as.character(ChickWeight$Diet))),
       "weight ~ Time * factor(Diet) + (Time | Chick)")
cake_d <- data.frame(cake[, c("replicate", "recipe", "angle")],
                     temp = as.numeric(as.character(cake$temperature)))
golden("cake", cake_d, "angle ~ recipe * temp + (1 | recipe:replicate)")
writeLines(c(paste("R", getRversion()), paste("lme4", packageVersion("lme4")),
             paste("lmerTest", packageVersion("lmerTest")),
             paste("pbkrtest", packageVersion("pbkrtest"))), "versions.txt")
