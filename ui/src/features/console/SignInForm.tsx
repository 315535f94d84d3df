import { useMutation, useQueryClient } from "@tanstack/react-query";
import { LogIn } from "lucide-react";
import { useForm } from "react-hook-form";

import { LogoMark } from "../../app/LogoMark";
import { useNavigation } from "../../app/navigation";
import { queryKeys } from "../../app/queryClient";
import { Button } from "../../components/Button";
import { Callout } from "../../components/Callout";
import { Field } from "../../components/Field";
import { Input } from "../../components/Input";
import { SIGN_IN_MESSAGES, errorMessage } from "../../lib/errors";
import { signIn } from "../../ipc";
import styles from "./SignInForm.module.css";

interface Credentials {
  username: string;
  password: string;
}

export function SignInForm() {
  const queryClient = useQueryClient();
  const navigation = useNavigation();
  const form = useForm<Credentials>({ defaultValues: { username: "", password: "" } });
  const attempt = useMutation({
    mutationFn: ({ username, password }: Credentials) => signIn(username.trim(), password),
    onSuccess: (status) => {
      queryClient.setQueryData(queryKeys.appStatus, status);
      void queryClient.invalidateQueries({ queryKey: queryKeys.queue });
    },
    onError: () => form.setValue("password", ""),
  });
  const { errors } = form.formState;

  return (
    <div className={styles.page}>
      <div className={styles.card}>
        <div className={styles.head}>
          <LogoMark size={32} />
          <h1 className={styles.title}>Agent sign-in</h1>
          <p className={styles.lede}>The console is for help desk staff. Sign in with your help desk account.</p>
        </div>
        {attempt.isError && (
          <Callout tone="danger" role="alert" title="You're not signed in">
            {errorMessage(attempt.error, SIGN_IN_MESSAGES)}
          </Callout>
        )}
        <form className={styles.form} onSubmit={form.handleSubmit((values) => attempt.mutate(values))} noValidate>
          <Field label="Username" error={errors.username?.message}>
            <Input
              autoFocus
              autoComplete="username"
              autoCapitalize="off"
              spellCheck={false}
              {...form.register("username", { validate: (value) => value.trim() !== "" || "Enter your username." })}
            />
          </Field>
          <Field label="Password" error={errors.password?.message}>
            <Input
              type="password"
              autoComplete="current-password"
              {...form.register("password", { required: "Enter your password." })}
            />
          </Field>
          <Button type="submit" variant="primary" size="lg" icon={LogIn} loading={attempt.isPending}>
            Sign in
          </Button>
        </form>
        <p className={styles.note}>
          Not on the help desk team?{" "}
          <button type="button" className={styles.linkButton} onClick={() => navigation.go("get-help")}>
            Get help with a problem
          </button>
        </p>
      </div>
    </div>
  );
}
