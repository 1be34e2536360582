# R's airquality as write.csv writes it (missing values as NA, a dotted column
# name Solar.R) and the lmer fit the `fit` command must reproduce.
# Run from the repository root: Rscript tests/models/golden/r_exports/make_airquality.R
suppressPackageStartupMessages(library(lmerTest))
here <- "tests/models/golden/r_exports"
write.csv(airquality, file.path(here, "airquality.csv"), row.names = FALSE)
m <- lmer(Ozone ~ Temp + Solar.R + (1 | Month), data = airquality)
s <- summary(m)$coefficients
out <- data.frame(term = c("Intercept", rownames(s)[-1]), estimate = s[, "Estimate"],
                  std_error = s[, "Std. Error"], df = s[, "df"])
write.csv(out, file.path(here, "airquality_lmer.csv"), row.names = FALSE)
writeLines(format(REMLcrit(m), digits = 15), file.path(here, "airquality_remlcrit.txt"))
cat("n used:", nobs(m), "\n")
