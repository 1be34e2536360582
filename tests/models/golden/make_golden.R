# Golden values for trialanalysis' mixed-model engine.
#
# Simulates small seeded data sets (written to data/*.csv) and records what
# lme4 + lmerTest (Satterthwaite), pbkrtest via lmerTest (Kenward-Roger),
# emmeans and nlme (between-within degrees of freedom) report for them
# (written to *.json). The Python tests compare against these files and do
# not need R.
#
# Run from this folder:  Rscript make_golden.R
# Versions used are recorded in versions.json.

suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(emmeans)
  library(nlme)
  library(jsonlite)
})

dir.create("data", showWarnings = FALSE)
id <- function(prefix, i, width = 2) sprintf(paste0("%s%0", width, "d"), prefix, i)

# ---------------------------------------------------------------- data sets

make_balanced <- function() {
  set.seed(101)
  k <- 12; m <- 10
  clinic <- rep(seq_len(k), each = m)
  treatment <- rep(rep(0:1, length.out = k), each = m)
  clinic_volume <- rep(round(rnorm(k, 0, 1), 3), each = m)
  age <- round(rnorm(k * m, 50, 10), 1)
  y <- 20 + 3 * treatment + 0.8 * clinic_volume + 0.1 * age +
    rep(rnorm(k, 0, 2), each = m) + rnorm(k * m, 0, 5)
  data.frame(clinic_id = id("c", clinic), treatment, clinic_volume, age,
             y = round(y, 4))
}

make_unbalanced <- function() {
  set.seed(202)
  k <- 17
  sizes <- sample(4:25, k, replace = TRUE)
  rows <- list()
  for (c in seq_len(k)) {
    u_c <- rnorm(1, 0, 2.5)
    for (p in seq_len(sizes[c])) {
      nvis <- sample(1:3, 1)
      arm <- sample(c("control", "intervention"), 1)
      age <- round(rnorm(1, 55, 12), 1)
      u_p <- rnorm(1, 0, 4)
      for (v in seq_len(nvis)) {
        y <- 30 - 4 * (arm == "intervention") - 1.5 * (v - 1) + 0.05 * age +
          u_c + u_p + rnorm(1, 0, 6)
        rows[[length(rows) + 1]] <- data.frame(
          clinic_id = id("k", c), patient_id = sprintf("k%02d_p%02d", c, p),
          arm = arm, visit = paste0("v", v), age = age, y = round(y, 4))
      }
    }
  }
  d <- do.call(rbind, rows)
  miss_y <- sample(nrow(d), round(0.1 * nrow(d)))
  d$y[miss_y] <- NA
  d$age[sample(setdiff(seq_len(nrow(d)), miss_y), 5)] <- NA
  d
}

make_nested <- function() {
  set.seed(303)
  rows <- list()
  times <- c("t0_baseline", "t1_3m", "t2_12m")
  for (c in 1:6) {
    u_c <- rnorm(1, 0, 2)
    for (t in seq_len(sample(2:4, 1))) {
      u_t <- rnorm(1, 0, 1.5)
      for (p in seq_len(sample(3:6, 1))) {
        arm <- sample(c("physio", "waitlist"), 1)
        u_p <- rnorm(1, 0, 3)
        age <- round(rnorm(1, 50, 10), 1)
        for (j in seq_along(times)) {
          eff <- c(0, -6, -8)[j] * (arm == "physio") + c(0, -2, -3)[j]
          y <- 40 + eff + 0.1 * age + u_c + u_t + u_p + rnorm(1, 0, 4)
          rows[[length(rows) + 1]] <- data.frame(
            clinic_id = id("n", c), therapist_id = sprintf("n%02d_t%d", c, t),
            patient_id = sprintf("n%02d_t%d_p%d", c, t, p), arm = arm,
            timepoint = times[j], age = age, y = round(y, 4))
        }
      }
    }
  }
  d <- do.call(rbind, rows)
  d$y[sample(nrow(d), 12)] <- NA
  d$months <- c(t0_baseline = 0, t1_3m = 3, t2_12m = 12)[d$timepoint]
  d
}

make_slopes <- function() {
  set.seed(404)
  rows <- list()
  for (p in 1:30) {
    arm <- if (p <= 15) "a_control" else "b_active"
    b0 <- rnorm(1, 0, 3); b1 <- rnorm(1, 0, 0.8)
    for (time in 0:4) {
      y <- 25 + b0 + (-0.5 - 0.8 * (arm == "b_active") + b1) * time + rnorm(1, 0, 2)
      rows[[length(rows) + 1]] <- data.frame(
        patient_id = id("s", p), arm = arm, time = time, y = round(y, 4))
    }
  }
  d <- do.call(rbind, rows)
  d$y[sample(nrow(d), 10)] <- NA
  d
}

make_stepped_wedge <- function() {
  set.seed(505)
  # dog-leg: 3 sequences of clinics, each observed in two or three periods
  sequences <- list(c(1, 2), c(2, 3), c(3, 4))
  switch_at <- c(2, 3, 4)
  seq_of_clinic <- rep(1:3, length.out = 17)
  rows <- list()
  for (c in 1:17) {
    s <- seq_of_clinic[c]
    u_c <- rnorm(1, 0, 2)
    for (per in sequences[[s]]) {
      treat <- as.integer(per >= switch_at[s])
      for (p in seq_len(sample(3:7, 1))) {
        base <- round(runif(1, 20, 60), 1)
        u_p <- rnorm(1, 0, 5)
        for (fu in 1:3) {
          y <- 8 + 0.6 * base - 5 * treat + c(0, -1, -2, -3)[per] - fu +
            u_c + u_p + rnorm(1, 0, 6)
          rows[[length(rows) + 1]] <- data.frame(
            clinic_id = id("w", c), patient_id = sprintf("w%02d_%d_%d", c, per, p),
            period = paste0("p", per), treatment = treat, followup = paste0("f", fu),
            odi_baseline = base, odi_total = round(y, 4))
        }
      }
    }
  }
  d <- do.call(rbind, rows)
  d$odi_total[sample(nrow(d), 25)] <- NA
  d
}

make_boundary <- function() {
  for (seed in 600:800) {
    set.seed(seed)
    k <- 10; m <- 8
    clinic <- rep(seq_len(k), each = m * 2)
    patient <- rep(seq_len(k * m), each = 2)
    treatment <- rep(rep(0:1, length.out = k), each = m * 2)
    x <- round(rnorm(k * m * 2), 3)
    y <- 10 + 1 * treatment + 0.5 * x + rep(rnorm(k * m, 0, 2), each = 2) +
      rnorm(k * m * 2, 0, 2)
    d <- data.frame(clinic_id = id("b", clinic),
                    patient_id = sprintf("b%03d", patient), treatment, x,
                    y = round(y, 4))
    m1 <- lmer(y ~ treatment + x + (1 | clinic_id) + (1 | clinic_id:patient_id), d)
    th <- getME(m1, "theta")
    if (isSingular(m1) && min(th) == 0) return(d)
  }
  stop("no boundary data set found")
}

make_crossed <- function() {
  set.seed(707)
  rows <- list()
  u_r <- rnorm(8, 0, 1.5); u_i <- rnorm(15, 0, 2)
  for (r in 1:8) for (i in 1:15) {
    if (runif(1) < 0.75) {
      x <- round(rnorm(1), 3)
      rows[[length(rows) + 1]] <- data.frame(
        rater = id("r", r), item = id("i", i), x = x,
        y = round(5 + 1.2 * x + u_r[r] + u_i[i] + rnorm(1, 0, 1.5), 4))
    }
  }
  do.call(rbind, rows)
}

# ---------------------------------------------------------------- extraction

coef_table <- function(m, ddf) {
  s <- summary(m, ddf = ddf)$coefficients
  data.frame(term = rownames(s), estimate = s[, "Estimate"], std_error = s[, "Std. Error"],
             df = s[, "df"], statistic = s[, "t value"], p_value = s[, "Pr(>|t|)"],
             row.names = NULL)
}

anova_table <- function(m, ddf) {
  a <- anova(m, type = "III", ddf = ddf)
  data.frame(term = rownames(a), num_df = a[["NumDF"]], den_df = a[["DenDF"]],
             statistic = a[["F value"]], p_value = a[["Pr(>F)"]], row.names = NULL)
}

varcorr_table <- function(m) {
  vc <- as.data.frame(VarCorr(m))
  data.frame(group = vc$grp, var1 = ifelse(is.na(vc$var1), "", vc$var1),
             var2 = ifelse(is.na(vc$var2), "", vc$var2), vcov = vc$vcov, sdcor = vc$sdcor)
}

profile_ci <- function(m) {
  ci <- suppressWarnings(suppressMessages(
    confint(m, method = "profile", oldNames = FALSE, quiet = TRUE)))
  ci <- ci[!rownames(ci) %in% names(fixef(m)), , drop = FALSE]
  data.frame(parameter = rownames(ci), lower = ci[, 1], upper = ci[, 2], row.names = NULL)
}

emm_df <- function(x) {
  s <- as.data.frame(summary(x, infer = c(TRUE, TRUE), adjust = "none"))
  names(s)[names(s) %in% c("emmean", "estimate")] <- "estimate"
  names(s)[names(s) == "lower.CL"] <- "conf_low"
  names(s)[names(s) == "upper.CL"] <- "conf_high"
  names(s)[names(s) == "t.ratio"] <- "statistic"
  names(s)[names(s) == "p.value"] <- "p_value"
  names(s)[names(s) == "SE"] <- "std_error"
  s
}

emmeans_block <- function(m, spec, by, contrast_method, interaction = NULL, at = NULL) {
  out <- list()
  for (method in c("satterthwaite", "kenward-roger")) {
    if (method == "kenward-roger" && !getME(m, "is_REML")) next
    e <- if (is.null(at)) emmeans(m, specs = spec, by = by, lmer.df = method) else
      emmeans(m, specs = spec, by = by, at = at, lmer.df = method)
    con <- if (is.null(interaction)) {
      contrast(e, method = contrast_method, adjust = "none")
    } else {
      contrast(e, interaction = interaction, by = by, adjust = "none")
    }
    out[[method]] <- list(emmeans = emm_df(e), contrasts = emm_df(con))
  }
  out
}

between_within <- function(d, fixed, random) {
  f <- lme(fixed, random = random, data = d, na.action = na.omit, method = "REML")
  tt <- summary(f)$tTable
  a <- anova(f, type = "marginal")
  list(coefficients = data.frame(term = rownames(tt), df = tt[, "DF"], row.names = NULL),
       terms = data.frame(term = rownames(a), den_df = a[["denDF"]], row.names = NULL))
}

# ICC profile-likelihood interval, written independently of the Python code:
# the deviance profiled over beta and sigma (lme4's devfun) is minimised over
# the other relative standard deviations with the ICC of `which` held fixed.
icc_profile <- function(m, which, level = 0.95) {
  dev <- as.function(m)
  th <- getME(m, "theta")
  icc_hat <- th[which]^2 / (sum(th^2) + 1)
  crit <- qchisq(level, 1)
  prof <- function(rho) {
    theta_for <- function(others) {
      t <- numeric(length(th)); t[-which] <- others
      t[which] <- sqrt(rho * (sum(others^2) + 1) / (1 - rho)); t
    }
    if (length(th) == 1) return(dev(theta_for(numeric(0))) - m@devcomp$cmp[["REML"]])
    fit <- optim(th[-which], function(o) dev(theta_for(abs(o))), method = "BFGS",
                 control = list(reltol = 1e-14))
    fit$value - m@devcomp$cmp[["REML"]]
  }
  lower <- if (icc_hat == 0 || prof(1e-10) < crit) 0 else
    uniroot(function(r) prof(r) - crit, c(1e-10, icc_hat), tol = 1e-12)$root
  upper <- uniroot(function(r) prof(r) - crit, c(icc_hat, 1 - 1e-9), tol = 1e-12)$root
  data.frame(group = names(th)[which], icc = icc_hat, conf_low = lower, conf_high = upper)
}

# REML profile-likelihood intervals for the standard deviations of a
# random-intercept model, written independently of the Python code: the
# unprofiled REML deviance at (sd_1, ..., sd_k, sigma) (lmerTest's devfun_vp)
# is minimised over the other parameters with one held fixed.
reml_profile_ci <- function(m, level = 0.95) {
  devfun <- as.function(m)
  env <- environment(devfun)
  n <- nrow(env$pp$V); p <- ncol(env$pp$X)
  dev <- function(psi) {
    k <- length(psi); s <- abs(psi[k])
    devfun(abs(psi[-k]) / s)
    env$pp$ldL2() + (env$resp$wrss() + env$pp$sqrL(1)) / s^2 + (n - p) * log(2 * pi * s^2) +
      2 * c(determinant(env$pp$RX())$modulus)
  }
  psi_hat <- c(getME(m, "theta") * sigma(m), sigma(m))
  d0 <- dev(psi_hat)
  crit <- qchisq(level, 1)
  prof <- function(j, v) {
    free <- setdiff(seq_along(psi_hat), j)
    obj <- function(z) { psi <- psi_hat; psi[j] <- v; psi[free] <- z; dev(psi) }
    o <- optim(psi_hat[free], obj, method = "BFGS", control = list(reltol = 1e-15, maxit = 5000))
    o$value - d0 - crit
  }
  out <- lapply(seq_along(psi_hat), function(j) {
    est <- psi_hat[j]
    lower <- if (j < length(psi_hat) && (est == 0 || prof(j, 0) < 0)) 0 else
      uniroot(function(v) prof(j, v), c(if (j < length(psi_hat)) 0 else est / 4, est),
              tol = 1e-11)$root
    hi <- max(est, 0.1) * 2
    while (prof(j, hi) < 0) hi <- hi * 2
    upper <- uniroot(function(v) prof(j, v), c(est, hi), tol = 1e-11)$root
    c(lower, upper)
  })
  groups <- c(vapply(getME(m, "cnms"), function(x) x, ""), "Residual")
  data.frame(group = c(names(getME(m, "cnms")), "Residual"), estimate = psi_hat,
             lower = vapply(out, `[`, 0, 1), upper = vapply(out, `[`, 0, 2))
}

golden <- function(name, d, formula, reml = TRUE, emm = NULL, bw = NULL, icc = NULL,
                   contrast_vectors = NULL, profile = TRUE, data_name = name) {
  write.csv(d, file.path("data", paste0(data_name, ".csv")), row.names = FALSE, na = "")
  m <- lmer(as.formula(formula), data = d, REML = reml,
            control = lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10)))
  out <- list(
    formula = formula, data = paste0(data_name, ".csv"), reml = reml, n_used = nobs(m),
    theta = unname(getME(m, "theta")), sigma = sigma(m),
    deviance = if (reml) m@devcomp$cmp[["REML"]] else m@devcomp$cmp[["dev"]],
    singular = isSingular(m), varcorr = varcorr_table(m),
    vcov = unname(as.matrix(vcov(m))),
    satterthwaite = coef_table(m, "Satterthwaite"),
    anova_satterthwaite = anova_table(m, "Satterthwaite"))
  if (reml) {
    out$kenward_roger <- coef_table(m, "Kenward-Roger")
    out$anova_kenward_roger <- anova_table(m, "Kenward-Roger")
    out$vcov_kenward_roger <- unname(as.matrix(vcovAdj(m)))
  }
  if (profile) out$profile_ci <- profile_ci(m)
  if (!is.null(emm)) out$emmeans <- lapply(emm, function(e)
    c(list(spec = e$spec, by = e$by, method = e$method, interaction = e$interaction,
           at = e$at),
      emmeans_block(m, e$spec, e$by, e$method, e$interaction, e$at)))
  if (!is.null(bw)) out$between_within <- between_within(d, bw$fixed, bw$random)
  if (!is.null(icc)) out$reml_profile_ci <- reml_profile_ci(m)
  if (!is.null(icc)) out$icc_profile <- do.call(rbind, lapply(icc, function(w) icc_profile(m, w)))
  if (!is.null(contrast_vectors)) {
    out$contrasts <- lapply(contrast_vectors, function(L) list(
      L = L,
      satterthwaite = as.data.frame(contest(m, matrix(L, nrow = 1), joint = FALSE,
                                            ddf = "Satterthwaite")),
      kenward_roger = if (reml) as.data.frame(contest(m, matrix(L, nrow = 1), joint = FALSE,
                                                      ddf = "Kenward-Roger")) else NULL))
  }
  write_json(out, paste0(name, ".json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
  invisible(m)
}

# ---------------------------------------------------------------- designs

golden("balanced", make_balanced(),
       "y ~ treatment + clinic_volume + age + (1 | clinic_id)",
       bw = list(fixed = y ~ treatment + clinic_volume + age, random = ~ 1 | clinic_id),
       icc = list(1), contrast_vectors = list(c(0, 1, 0.5, 0)))

unbalanced <- make_unbalanced()
golden("unbalanced", unbalanced,
       "y ~ arm + visit + age + (1 | clinic_id) + (1 | clinic_id:patient_id)",
       emm = list(list(spec = "arm", by = NULL, method = "pairwise"),
                  list(spec = "visit", by = "arm", method = "trt.vs.ctrl")),
       bw = list(fixed = y ~ arm + visit + age, random = ~ 1 | clinic_id / patient_id),
       icc = list(1, 2))
golden("unbalanced_ml", unbalanced,
       "y ~ arm + visit + age + (1 | clinic_id) + (1 | clinic_id:patient_id)", reml = FALSE,
       emm = list(list(spec = "arm", by = NULL, method = "pairwise")),
       data_name = "unbalanced")

nested <- make_nested()
golden("nested", nested,
       "y ~ arm * timepoint + age + (1 | clinic_id/therapist_id/patient_id)",
       emm = list(list(spec = "arm", by = "timepoint", method = "pairwise"),
                  list(spec = "timepoint", by = "arm", method = "trt.vs.ctrl"),
                  list(spec = c("arm", "timepoint"), by = NULL, method = NULL,
                       interaction = list(arm = "pairwise", timepoint = "trt.vs.ctrl"))),
       bw = list(fixed = y ~ arm * timepoint + age,
                 random = ~ 1 | clinic_id / therapist_id / patient_id),
       contrast_vectors = list(c(0, 0, 0, 0, 0, 1, -1), c(1, 1, 0.5, 0.5, 50, 0.5, 0.5)))

golden("nested_slopes", nested,
       "y ~ arm * months + age + (1 | clinic_id) + (1 + months | clinic_id:patient_id)",
       emm = list(list(spec = "arm", by = "months", method = "pairwise",
                       at = list(months = c(0, 12)))),
       data_name = "nested")

slopes <- make_slopes()
golden("slopes", slopes, "y ~ time * arm + (1 + time | patient_id)",
       emm = list(list(spec = "arm", by = NULL, method = "pairwise")))
golden("slopes_uncorrelated", slopes, "y ~ time * arm + (1 + time || patient_id)",
       emm = list(list(spec = "arm", by = "time", method = "pairwise",
                       at = list(time = c(0, 4)))),
       data_name = "slopes")

golden("stepped_wedge", make_stepped_wedge(),
       "odi_total ~ period + treatment + odi_baseline + (1 | clinic_id) + (1 | clinic_id:patient_id)",
       bw = list(fixed = odi_total ~ period + treatment + odi_baseline,
                 random = ~ 1 | clinic_id / patient_id),
       icc = list(1, 2), contrast_vectors = list(c(0, 0, 0, 0, 1, 0)))

golden("boundary", make_boundary(),
       "y ~ treatment + x + (1 | clinic_id) + (1 | clinic_id:patient_id)",
       bw = list(fixed = y ~ treatment + x, random = ~ 1 | clinic_id / patient_id))

golden("crossed", make_crossed(), "y ~ x + (1 | rater) + (1 | item)")

versions <- lapply(c("R", "lme4", "lmerTest", "pbkrtest", "emmeans", "nlme", "Matrix"),
                   function(p) if (p == "R") as.character(getRversion()) else
                     as.character(packageVersion(p)))
names(versions) <- c("R", "lme4", "lmerTest", "pbkrtest", "emmeans", "nlme", "Matrix")
write_json(versions, "versions.json", auto_unbox = TRUE, pretty = TRUE)
