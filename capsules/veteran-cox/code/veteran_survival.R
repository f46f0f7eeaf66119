# Veterans' Administration lung cancer trial (Kalbfleisch and Prentice): Kaplan-Meier survival
# by treatment and the Cox proportional hazards model on treatment, cell type, Karnofsky
# performance score, months from diagnosis, age and prior therapy.
suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

trial <- read.csv("data/veteran.csv")
trial$celltype <- factor(trial$celltype, levels = c("squamous", "smallcell", "adeno", "large"))

km <- survfit(Surv(time, status) ~ trt, data = trial)
km_table <- summary(km)$table
cox <- coxph(Surv(time, status) ~ trt + celltype + karno + diagtime + age + prior, data = trial)
lr_test <- 2 * diff(cox$loglik)

dir.create("results", showWarnings = FALSE)
summary <- list(
  km_median_days = list(standard = unname(km_table["trt=1", "median"]),
                        test = unname(km_table["trt=2", "median"])),
  cox_coefficients = as.list(round(coef(cox), 4)),
  cox_hazard_ratios = as.list(round(exp(coef(cox)), 3)),
  likelihood_ratio_test = round(lr_test, 1),
  events = cox$nevent,
  n = cox$n
)
write_json(summary, "results/summary.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)

# The Cox model's table, one row per term, as a paper's table would print it.
cox_table <- data.frame(term = names(coef(cox)), coef = round(coef(cox), 4),
                        hazard_ratio = round(exp(coef(cox)), 3),
                        se = round(sqrt(diag(vcov(cox))), 4),
                        p = signif(summary(cox)$coefficients[, "Pr(>|z|)"], 3))
write.csv(cox_table, "results/cox_table.csv", row.names = FALSE, quote = FALSE)

png("results/kaplan_meier.png", width = 700, height = 500)
plot(km, col = c("black", "red"), xlab = "days", ylab = "survival probability",
     main = "Veterans' lung cancer trial: Kaplan-Meier by treatment")
legend("topright", legend = c("standard", "test"), col = c("black", "red"), lty = 1)
invisible(dev.off())
print(cox)
